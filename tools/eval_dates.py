#!/usr/bin/env python3
"""Exact-match greedy accuracy of a date model directory on a TSV of `source<TAB>target` lines.

    /work/venv/bin/python tools/eval_dates.py [--model Sources/Seq2Seq/Resources/dates] [--data data/dates-heldout.tsv]
                                              [--show-errors 20]

Decoding is tools/seq2seq_torch.greedy (MODEL.md's rules, float64 from the stored weights), so the number is
what a correct engine reproduces with `seq2seq translate --model DIR --beam-size 1`.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dates  # noqa: E402
import seq2seq_torch as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(REPO, "Sources", "Seq2Seq", "Resources", "dates"))
    ap.add_argument("--data", default=os.path.join(REPO, "data", "dates-heldout.tsv"))
    ap.add_argument("--show-errors", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(1)
    m, cfg, sv, tv = st.load_model_dir(a.model)
    ref = st.to_reference(m)
    pairs = dates.read_tsv(a.data)
    t0 = time.time()
    ok, errors = 0, []
    for s, t in pairs:
        r = st.greedy(ref, st.encode_text(s, sv, cfg))
        out = st.detokenize([tv[i] for i in r["ids"]], cfg["tokenizer"])
        if out == t:
            ok += 1
        else:
            errors.append((s, t, out))
    for s, t, o in errors[:a.show_errors]:
        print(f"  {s!r}: expected {t}, got {o!r}")
    print(f"exact match: {ok}/{len(pairs)} = {100.0 * ok / len(pairs):.2f}% ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
