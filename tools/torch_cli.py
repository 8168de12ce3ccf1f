#!/usr/bin/env python3
"""A slow reference of MODEL.md's command line, on tools/seq2seq_torch.py (float64).

    /work/venv/bin/python tools/torch_cli.py translate --model DIR [--beam-size K] [--n-best N]
        [--length-penalty A] [--max-length N] [--min-length N] [--batch-size B] [--attention]
        [--format text|jsonl] [--input FILE]
    /work/venv/bin/python tools/torch_cli.py score --model DIR [--input FILE]

Its purpose is to check fixture sets with the shared checker, e.g.
    python3 ../shared/fixtures/check.py Tests/Fixtures/golden --cli tools/torch_cli.sh
(`tools/torch_cli.sh` runs this file with /work/venv/bin/python or $SEQ2SEQ_PYTHON.)
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class BadLine(Exception):
    pass


def ids_of(d, key, text_key, vocab, cfg, size, what):
    if key in d:
        v = d[key]
        if not isinstance(v, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in v):
            raise BadLine(f"\"{key}\" must be a list of integers")
        for i in v:
            if i < 0 or i >= size:
                raise BadLine(f"{what} id {i} out of range 0..{size - 1}")
    elif text_key in d and isinstance(d[text_key], str):
        if vocab is None:
            raise BadLine(f"text \"{text_key}\" needs a {what} vocabulary")
        import seq2seq_torch as st
        try:
            v = st.encode_text(d[text_key], vocab, cfg)
        except ValueError as e:  # an unknown token without unk (format 2)
            raise BadLine(str(e))
    else:
        raise BadLine(f"no \"{key}\" or \"{text_key}\"")
    return v


def hyp_json(h, tv, with_att):
    out = {"ids": h["ids"], "tokens": [tv[i] if tv else str(i) for i in h["ids"]], "log_prob": h["log_prob"],
           "score": h["score"]}
    if with_att and h.get("attention") is not None:
        out["attention"] = h["attention"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["translate", "score"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--beam-size", type=int, help="default 5, or the model's decoding_defaults")
    ap.add_argument("--n-best", type=int, default=1)
    ap.add_argument("--length-penalty", type=float, default=1.0)
    ap.add_argument("--max-length", type=int)
    ap.add_argument("--min-length", type=int, help="default 0, or the model's decoding_defaults")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--attention", action="store_true")
    ap.add_argument("--format", choices=["text", "jsonl"], default="text")
    ap.add_argument("--input")
    a = ap.parse_args()
    import torch
    import seq2seq_torch as st
    torch.set_num_threads(1)
    try:
        m, cfg, sv, tv = st.load_model_dir(a.model)
    except (ValueError, KeyError, OSError, TypeError) as e:
        print(f"seq2seq: cannot load model {a.model}: {e}", file=sys.stderr)
        return 2
    ref = st.to_reference(m)
    defaults = cfg.get("decoding_defaults") or {}
    if a.beam_size is None:
        a.beam_size = defaults.get("beam_size", 5)
    if a.min_length is None:
        a.min_length = defaults.get("min_length", 0)
    f = open(a.input, encoding="utf-8", newline="") if a.input else sys.stdin
    lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    status = 0
    for n, ln in enumerate(lines, 1):
        ln = ln.rstrip("\r")
        try:
            if a.command == "translate" and a.format == "text":
                try:
                    src = st.encode_text(ln, sv, cfg)
                except ValueError as e:
                    raise BadLine(str(e))
            else:
                try:
                    d = json.loads(ln)
                except ValueError:
                    raise BadLine("not valid JSON")
                if not isinstance(d, dict):
                    raise BadLine("not a JSON object")
                src = ids_of(d, "source_ids", "source", sv, cfg, cfg["source_vocab_size"], "source")
            if not src:
                raise BadLine("empty source")
            if a.command == "score":
                tgt = ids_of(d, "target_ids", "target", tv, cfg, cfg["target_vocab_size"], "target")
                r = st.score(ref, src, tgt)
                print(json.dumps({"token_log_probs": r["token_log_probs"], "log_prob": r["log_prob"]}))
                continue
            hyps, _ = st.beam_search(ref, src, a.beam_size, a.n_best, a.length_penalty, a.max_length, a.min_length)
            if a.format == "text":
                print(st.output_text(hyps[0]["ids"], tv, cfg))
            else:
                out = hyp_json(hyps[0], tv, a.attention)
                if a.n_best > 1:
                    out["n_best"] = [hyp_json(h, tv, a.attention) for h in hyps]
                print(json.dumps(out))
        except BadLine as e:
            status = 1
            if a.command == "translate" and a.format == "text":
                print(f"line {n}: {e}", file=sys.stderr)
                print("")
            else:
                print(json.dumps({"error": f"line {n}: {e}"}))
    return status


if __name__ == "__main__":
    sys.exit(main())
