"""Markdown table of Benchmarks/compute_types.sh output: tok/s and the ratio to float32 of the same round."""
import json, collections, sys
rows=[json.loads(l) for l in open(sys.argv[1])]
d=collections.defaultdict(dict)
for r in rows: d[(r['round'],r['model'],r['workload'])][r['cfg']]=r['tok_per_s']
cfgs=["f32-openblas","f32","int8","float16","bfloat16","f32-inv","int8-inv"]
print("| round | model | workload | "+" | ".join(cfgs)+" |")
for k in sorted(d):
    v=d[k]; base=v.get('f32')
    cells=[]
    for c in cfgs:
        if c not in v: cells.append("–"); continue
        cells.append(f"{v[c]:,.0f}" + ("" if c=="f32" or not base else f" ({v[c]/base:.2f}×)"))
    print(f"| {k[0]} | {k[1].upper()} | {k[2]} | "+" | ".join(cells)+" |")
