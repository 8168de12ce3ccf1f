#!/usr/bin/env python3
"""Seq2Seq vs PyTorch (and vs the naive Swift reference) on the standard workloads, in one run.

    python3 Benchmarks/compare_pytorch.py --python /path/to/venv/bin/python [--threads 2] [--repeats 3]
    python3 Benchmarks/compare_pytorch.py --no-torch --no-reference      # the engine's table only

What it does, in order:
  1. builds the engine (`swift build -c release --product seq2seq`);
  2. writes the B1 and B2 models with the PyTorch peer (`peers/torch_peer.py make`), unless they exist;
  3. measures the machine's limits (`seq2seq bench --limits`), then our engine on W1, W2, W3 in every
     configuration (float32, int8, int8_float16, float16, bfloat16, batch-invariant float32 and int8_float16), alternating them
     within each repeat of one process, with the fraction of the machine's limit each reaches (roofline);
  4. times the naive Swift reference on fewer sentences (it is slow);
  5. times the PyTorch peer (`torch_peer.py bench`), which waits for a quiet machine before each run;
  6. prints the tables of tokens per second, ratios, the ceiling the limits allow, GFLOP/s and roofline
     (markdown), the limits and the load.

PyTorch is a developer tool only: `python3 -m venv venv && venv/bin/pip install torch numpy safetensors`,
then pass `--python venv/bin/python`. Nothing here is needed by the tests or CI.
Workloads (MODEL.md models, sources of 32 tokens, exactly 32 generated tokens): W1 greedy batch 1,
W2 greedy batch 32, W3 beam 5 batch 1. Medians of --repeats runs; compare only ratios from one run.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = os.path.join(HERE, "peers", "torch_peer.py")
TARGETS = {("b1", "W1"): 6, ("b1", "W2"): 2, ("b1", "W3"): 4, ("b2", "W1"): 2.5, ("b2", "W2"): 1.5, ("b2", "W3"): 3}
SENTENCES = {"W1": 20, "W2": 64, "W3": 10}
REFERENCE_SENTENCES = {"W1": 2, "W2": 32, "W3": 1}


def run(cmd, **kw):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def cpu_ticks():
    """(stolen, total) CPU ticks of the machine so far, from /proc/stat's "cpu" line; None where unreadable."""
    try:
        v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
        return v[7], sum(v)
    except (OSError, ValueError, IndexError):
        return None


def steal_since(start):
    """The share of the machine's CPU time the hypervisor gave to other tenants since `start` (cpu_ticks())."""
    end = cpu_ticks()
    if start is None or end is None or end[1] <= start[1]:
        return "?"
    return f"{100 * (end[0] - start[0]) / (end[1] - start[1]):.1f}%"


def ceiling(o, wl, lim):
    """The most tokens/s the machine's limits measured in this run allow a float32 engine, whatever its code:
    one sentence at a time (W1, W3), its weight bytes per token at the fastest of the memory read bandwidth and
    the sgemv rate on the model's output shape (weights that fit in the last-level cache stream faster than
    memory); batches (W2), its FLOPs per token at the fastest sgemm rate measured (2048³ or the batch shapes)."""
    if wl == "W2":
        rate = max(v for k, v in lim.items() if k.startswith("sgemm"))
        return rate / (o["gflops"] / o["tok_per_s"])
    def size(key):  # "sgemv 8000×256" -> 2,048,000
        a, b = key.split()[1].split("×")
        return int(a) * int(b)
    gemv = max((k for k in lim if k.startswith("sgemv")), key=size, default=None)
    gbs = max(lim["memory_read_gbs"], lim[gemv] if gemv else 0)
    return gbs * 1e3 / o["weight_mb_per_token"]


def pct(x):
    return f"{100 * x:.0f}%" if x is not None else "–"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", help="a Python with torch, numpy and safetensors (PyTorch columns, and to make missing models)")
    ap.add_argument("--models", default=os.path.join(ROOT, ".build-bench", "models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--configs", default="b1,b2")
    ap.add_argument("--no-reference", action="store_true", help="skip the naive reference")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch (our figures only)")
    ap.add_argument("--compute-types", default="int8,int8_float16,float16,bfloat16",
                    help="engine configurations timed beside float32, alternating within each repeat of one process "
                         "(compute types, each optionally with -inv for batch-invariant mode); '' for float32 only")
    ap.add_argument("--invariant", default="float32-inv,int8_float16-inv",
                    help="batch-invariant configurations timed in the same alternation ('' for none)")
    ap.add_argument("--quantize", default="",
                    help="weight families the reduced types apply to (seq2seq --quantize; default '': each type's "
                         "default families, the ones its quality gates allow; 'all' measures the full saving)")
    ap.add_argument("--scratch-path", default=".build", help="SwiftPM build directory (swift build --scratch-path)")
    args = ap.parse_args()
    if not args.no_torch and not args.python:
        ap.error("--python is required unless --no-torch")
    t_start = time.time()
    load_start = loadavg()
    ticks_start = cpu_ticks()

    run(["swift", "build", "-c", "release", "--product", "seq2seq", "--scratch-path", args.scratch_path], cwd=ROOT)
    cli = os.path.join(ROOT, args.scratch_path, "release", "seq2seq")
    configs = ["float32"] + [c for c in (args.compute_types + "," + args.invariant).split(",") if c and c != "float32"]
    rows, limits, typed = [], {}, {}
    for cfg in args.configs.split(","):
        model = os.path.join(args.models, cfg)
        if not os.path.exists(os.path.join(model, "model.safetensors")):
            if not args.python:
                sys.exit(f"{model} is missing: pass --python to make it with the PyTorch peer")
            run([args.python, PEER, "make", "--config", cfg, "--out", model])
        out = json_lines(run([cli, "bench", "--model", model, "--threads", str(args.threads), "--repeats",
                              str(args.repeats), "--json", "--limits", "--configs", ",".join(configs)]
                             + (["--quantize", args.quantize] if args.quantize else [])))
        limits[cfg] = out[0]["limits"]
        for r in out[1:]:
            typed.setdefault(cfg, {}).setdefault(r["workload"], {})[r["config"]] = r
        ours = {wl: v["float32"] for wl, v in typed[cfg].items()}
        ref = {}
        if not args.no_reference:
            for wl, n in REFERENCE_SENTENCES.items():
                r = json_lines(run([cli, "bench", "--model", model, "--backend", "reference", "--workloads", wl,
                                    "--sentences", str(n), "--repeats", "1", "--json"]))
                ref[wl] = r[0]
        torch = {}
        if not args.no_torch:
            path = os.path.join(args.models, f"torch_{cfg}.json")
            if os.path.exists(path):
                os.remove(path)
            run([args.python, PEER, "bench", "--model", model, "--threads", str(args.threads), "--repeats",
                 str(args.repeats), "--json", path])
            torch = {r["workload"]: r for r in json.load(open(path))}
        for wl in ("W1", "W2", "W3"):
            rows.append((cfg, wl, ours[wl], torch.get(wl), ref.get(wl)))

    print(f"\n| model | workload | Seq2Seq tok/s | PyTorch tok/s | ratio (target) | ceiling tok/s (ratio) | reference tok/s | × reference | GFLOP/s | roofline |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cfg, wl, o, t, r in rows:
        top = ceiling(o, wl, limits[cfg])
        cap = f"{top:,.0f}" + (f" ({top / t['tok_per_s']:.1f}×)" if t else "")
        tt = f"{t['tok_per_s']:,.0f}" if t else "–"
        ratio = f"{o['tok_per_s'] / t['tok_per_s']:.1f}× (≥ {TARGETS[(cfg, wl)]}×)" if t else "–"
        rr = f"{r['tok_per_s']:,.1f}" if r else "–"
        xr = f"{o['tok_per_s'] / r['tok_per_s']:,.0f}×" if r else "–"
        print(f"| {cfg.upper()} | {wl} | {o['tok_per_s']:,.0f} | {tt} | {ratio} | {cap} | {rr} | {xr} | {o['gflops']:.1f} | {pct(o.get('roofline'))} |")
    print("\nEngine configurations, alternating within each repeat of one process: tok/s (× float32) roofline; "
          f"reduced types quantize {('families: ' + args.quantize) if args.quantize else 'their default families'}")
    print("\n| model | workload | " + " | ".join(configs) + " |")
    print("|---|---|" + "---|" * len(configs))
    for cfg, wls in typed.items():
        for wl, v in wls.items():
            base = v["float32"]["tok_per_s"]
            cells = []
            for name in configs:
                r = v.get(name)
                if not r:
                    cells.append("–")
                    continue
                ratio = "" if name == "float32" else f" ({r['tok_per_s'] / base:.2f}×)"
                cells.append(f"{r['tok_per_s']:,.0f}{ratio} {pct(r.get('roofline'))}")
            print(f"| {cfg.upper()} | {wl} | " + " | ".join(cells) + " |")
    print()
    for cfg, lim in limits.items():
        print(f"{cfg.upper()} machine limits, same run ({lim['threads']} threads): " +
              ", ".join(f"{k} {v:.1f}" for k, v in lim.items() if k != "threads") + " (GFLOP/s, GB/s)")
    print("Roofline: W1, W3: weight bytes per token (" +
          ", ".join(f"{c.upper()} float32 {v['W1']['float32']['weight_mb_per_token']:.1f} MB" for c, v in typed.items()) +
          ") × tok/s over the memory read bandwidth; W2: GFLOP/s over the sgemm rate at the batch-32 output shape.")
    print("Ceiling: the most tok/s these limits allow float32 weights (W1, W3: weight bytes per token at the faster of "
          "the memory read and the sgemv rate on the output shape; W2: FLOPs per token at the fastest sgemm rate), "
          "and its ratio to PyTorch: a ratio target above it cannot be met on this machine.")
    print(f"Load average (1 min) at start {load_start}, at end {loadavg()}; CPU time stolen by the hypervisor "
          f"{steal_since(ticks_start)}; {time.time() - t_start:.0f} s in all.")


if __name__ == "__main__":
    main()
