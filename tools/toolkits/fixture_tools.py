#!/usr/bin/env python3
"""Small helpers shared by the toolkit fixture scripts (run with any venv that has torch).

  tensors CKPT OUT            write every state-dict key, dtype and shape of a toolkit
                              checkpoint (OpenNMT .pt, JoeyNMT .ckpt, fairseq .pt,
                              tutorial model.pt) plus a summary of its other entries
  accuracy HYP REF            print "correct/total" exact-line matches
  meta OUT.json KEY=VALUE...  write meta.json (VALUE parsed as JSON when it parses)
  check_lines SRC OUT         assert OUT has one line per SRC line
"""
import json
import sys


def _describe(obj, depth=0, limit=3):
    import torch
    if isinstance(obj, torch.Tensor):
        return f"tensor {str(obj.dtype).replace('torch.', '')} {tuple(obj.shape)}"
    if isinstance(obj, (list, tuple)):
        head = ", ".join(repr(x) for x in obj[:8]) if obj and not isinstance(obj[0], (dict, list, torch.Tensor)) else ""
        return f"{type(obj).__name__} len {len(obj)}" + (f": [{head}{', ...' if len(obj) > 8 else ''}]" if head else "")
    if isinstance(obj, dict):
        return f"{type(obj).__name__} keys {list(obj.keys())[:20]}"
    r = repr(obj)
    return f"{type(obj).__name__}: {r[:200]}{'...' if len(r) > 200 else ''}"


def tensors(ckpt, out):
    import torch
    obj = torch.load(ckpt, map_location="cpu", weights_only=False)
    lines = [f"# {ckpt}", f"# torch {torch.__version__}", f"# top-level keys: {list(obj.keys())}", ""]
    # which entries are weights
    weight_keys = [k for k in ("model", "generator", "model_state", "encoder", "decoder") if k in obj and isinstance(obj[k], dict)]
    total = 0
    for k in weight_keys:
        sd = obj[k]
        lines.append(f"## [{k!r}] ({type(sd).__name__}, {len(sd)} entries)")
        for name, t in sd.items():
            if isinstance(t, torch.Tensor):
                total += t.numel()
                lines.append(f"{name}\t{str(t.dtype).replace('torch.', '')}\t{list(t.shape)}")
            else:
                lines.append(f"{name}\t{_describe(t)}")
        lines.append("")
    lines.append(f"# parameters in the entries above (tied tensors counted each time): {total}")
    lines.append("")
    lines.append("## other top-level entries")
    for k, v in obj.items():
        if k in weight_keys:
            continue
        if k == "vocab" and isinstance(v, dict):
            for vk, vv in v.items():
                lines.append(f"vocab[{vk!r}]: {_describe(vv)}")
        elif k in ("source_vocab", "target_vocab"):
            lines.append(f"{k}: {_describe(v)}")
        elif k in ("opt", "args") and v is not None:
            lines.append(f"{k}: {type(v).__name__} (training options; see meta.json)")
        elif k == "cfg" and isinstance(v, dict):
            m = v.get("model")
            lines.append(f"cfg: dict keys {list(v.keys())}; cfg['model'] is {type(m).__module__}.{type(m).__name__}")
        else:
            lines.append(f"{k}: {_describe(v)}")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def accuracy(hyp, ref):
    h = open(hyp, encoding="utf-8").read().split("\n")
    r = open(ref, encoding="utf-8").read().split("\n")
    h, r = h[:-1] if h and h[-1] == "" else h, r[:-1] if r and r[-1] == "" else r
    assert len(h) == len(r), (len(h), len(r))
    ok = sum(a.strip() == b.strip() for a, b in zip(h, r))
    print(f"{ok}/{len(r)}")


def meta(out, pairs):
    d = {}
    for p in pairs:
        k, v = p.split("=", 1)
        try:
            d[k] = json.loads(v)
        except json.JSONDecodeError:
            d[k] = v
    with open(out, "w", encoding="utf-8") as f:
        json.dump(d, f, indent=2, ensure_ascii=False)
        f.write("\n")


def check_lines(src, out):
    a = open(src, encoding="utf-8").read().count("\n")
    b = open(out, encoding="utf-8").read().count("\n")
    if a != b:
        sys.exit(f"line count mismatch: {src} {a} vs {out} {b}")


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "tensors":
        tensors(*rest)
    elif cmd == "accuracy":
        accuracy(*rest)
    elif cmd == "meta":
        meta(rest[0], rest[1:])
    elif cmd == "check_lines":
        check_lines(*rest)
    else:
        sys.exit(__doc__)
