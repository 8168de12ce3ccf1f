#!/usr/bin/env python3
"""Export a PyTorch checkpoint to a seq2seq-rnn model directory (MODEL.md, format version 1).

usage: export_pytorch.py CHECKPOINT OUT_DIR [--config CONFIG.json] [--source-vocab FILE] [--target-vocab FILE]
                         [--dtype f32|f16] [--metadata KEY=VALUE ...]

CHECKPOINT is a file written by torch.save holding either
  - a dict {"config": {...}, "state_dict": {...}, "source_vocab": [...], "target_vocab": [...]}
    (what tools/train_dates.py writes; the vocabularies are optional), or
  - a bare state_dict, in which case --config is required.
The state_dict's keys must be MODEL.md's tensor names (exactly what tools/seq2seq_torch.Seq2Seq produces);
a leading "module." (DataParallel) is stripped. Every weight the config needs must be present with MODEL.md's
shape, every other name is refused; biases may be absent (they mean zeros). --config, --source-vocab and
--target-vocab (one token a line) override what the checkpoint holds. Vocabulary sizes must match the config.

OUT_DIR receives config.json, model.safetensors (F32, or F16 with --dtype f16) and source.vocab / target.vocab
when known. The written directory is read back and compared with the checkpoint; the exporter prints the
largest difference and exits non-zero on any problem.

Example:
  /work/venv/bin/python tools/export_pytorch.py /tmp/dates.pt Sources/Seq2Seq/Resources/dates --dtype f32
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq2seq_torch as st  # noqa: E402


def load_checkpoint(path):
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, dict) and "state_dict" in obj:
        return dict(obj["state_dict"]), obj.get("config"), obj.get("source_vocab"), obj.get("target_vocab")
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict(), getattr(obj, "cfg", None), None, None
    if isinstance(obj, dict):
        return dict(obj), None, None, None
    raise SystemExit(f"{path}: not a checkpoint dict or state_dict")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="torch.save file: {config, state_dict, source_vocab, target_vocab} or a state_dict")
    ap.add_argument("out_dir", help="model directory to write (created if needed)")
    ap.add_argument("--config", help="config.json to use instead of the checkpoint's")
    ap.add_argument("--source-vocab", help="source vocabulary file (one token a line)")
    ap.add_argument("--target-vocab", help="target vocabulary file (one token a line)")
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32", help="storage dtype (default f32)")
    ap.add_argument("--metadata", nargs="*", default=[], metavar="KEY=VALUE",
                    help="strings for the safetensors __metadata__")
    a = ap.parse_args()

    sd, cfg, sv, tv = load_checkpoint(a.checkpoint)
    sd = {(k[7:] if k.startswith("module.") else k): v for k, v in sd.items()}
    if a.config:
        with open(a.config, encoding="utf-8") as f:
            cfg = json.load(f)
    if cfg is None:
        raise SystemExit("no config: the checkpoint has none, pass --config")
    if a.source_vocab:
        sv = st.read_vocab(a.source_vocab)
    if a.target_vocab:
        tv = st.read_vocab(a.target_vocab)
    try:
        st.validate_config(cfg)
        st.check_state_dict(cfg, sd)
        for name, v, key in (("source", sv, "source_vocab_size"), ("target", tv, "target_vocab_size")):
            if v is not None and len(v) != cfg[key]:
                raise ValueError(f"{name} vocabulary has {len(v)} tokens, config {key} is {cfg[key]}")
        sd = {k: v.detach().float() for k, v in sd.items()}
        if a.dtype == "f16":
            big = max(float(v.abs().max()) for v in sd.values())
            if big > 65504:
                raise ValueError(f"a weight of magnitude {big} does not fit in F16")
        meta = dict(kv.split("=", 1) for kv in a.metadata) if a.metadata else None
        st.save_model_dir(sd, cfg, a.out_dir, sv, tv, dtype=a.dtype.upper(), metadata=meta)
        back, _, _, _ = st.load_model_dir(a.out_dir)
    except ValueError as e:
        raise SystemExit(f"export failed: {e}")
    bsd = back.state_dict()
    diff = max(float((bsd[k] - v).abs().max()) for k, v in sd.items())
    size = sum(os.path.getsize(os.path.join(a.out_dir, f)) for f in os.listdir(a.out_dir))
    n = sum(v.numel() for v in sd.values())
    print(f"wrote {a.out_dir}: {len(sd)} tensors, {n} parameters, {a.dtype.upper()}, {size} bytes; "
          f"largest round-trip difference {diff:.2e}")


if __name__ == "__main__":
    main()
