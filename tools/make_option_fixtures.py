#!/usr/bin/env python3
"""Golden cases for MODEL.md "Decoding options" in Tests/Fixtures/golden/ (cases o01_..., o02_...).

    /work/venvs/torch/bin/python tools/make_option_fixtures.py [--out Tests/Fixtures/golden] [--only SUBSTR]

Each case is a complete valid case made by tools/make_fixtures.py (model, greedy, beam and score files, so any
checker of the shared format accepts it) plus `"option_runs"` in case.json: for each run, decoding options
(snake case, as in a JSONL line or, in kebab case, as command-line flags), an inputs file (source ids and,
on some lines, a "target_prefix") and the expected output lines of tools/seq2seq_options.py (float64).
Inputs are drawn again until every decision of the run (greedy gaps, sampling draws and cuts, beam walks and
rankings) has a margin of at least 1e-3, so that float32 engines match the ids exactly.
"""
import argparse
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import seq2seq_options as so  # noqa: E402
import seq2seq_torch as st  # noqa: E402

MIN_GAP = 1e-3

# Each run: a name, the options, how many inputs, and whether inputs carry a target prefix (or a long source).
RUNS = [
    ("sampling_full", dict(sampling_topk=0, seed=11, n_best=3), dict(prefix=False)),
    ("sampling_topk_topp_temperature", dict(sampling_topk=5, sampling_topp=0.8, sampling_temperature=0.7, seed=3),
     dict(prefix=True)),
    ("greedy_prefix", dict(), dict(prefix=True)),
    ("beam_prefix_wu", dict(beam_size=3, n_best=2, length_penalty=0.8, length_penalty_kind="wu"), dict(prefix=True)),
    ("beam_none_max_length_ab", dict(beam_size=3, n_best=3, length_penalty_kind="none", max_length_a=0.5,
                                     max_length_b=3), dict(prefix=False)),
    ("greedy_no_repeat_penalty", dict(no_repeat_ngram_size=2, repetition_penalty=1.5, min_length=4), dict(prefix=False)),
    ("greedy_suppress_disable_unk", dict(suppress_ids=[5, 6], suppress_sequences=[[7, 8]], disable_unk=True),
     dict(prefix=False)),
    ("greedy_max_input_length", dict(max_input_length=3), dict(prefix=False, long=True)),
    ("sampling_prefix_penalty", dict(sampling_topk=0, seed=5, n_best=2, repetition_penalty=1.3, no_repeat_ngram_size=3),
     dict(prefix=True)),
]

CASES = [
    dict(name="o01_gru_bahdanau_linear_decoding_options",
         desc="decoding options: sampling (top-k, top-p, temperature, n samples), target prefixes, repetition "
              "controls, suppressed ids and sequences, length penalty kinds, max length a/b, max input length",
         cfg=dict(cell="gru", source_vocab_size=24, target_vocab_size=20, embedding_size=10, hidden_size=12,
                  bidirectional_encoder=True, bridge="linear_tanh", attention="bahdanau", attention_size=8),
         index=40),
    dict(name="o02_lstm_luong_general_copy_decoding_options",
         desc="decoding options on an LSTM with Luong general attention (same runs)",
         cfg=dict(cell="lstm", source_vocab_size=22, target_vocab_size=18, embedding_size=8, hidden_size=10,
                  bridge="copy", attention="luong_general"),
         index=41),
]


def hyp_json(h, tvocab):
    return {"ids": h["ids"], "log_prob": h["log_prob"], "score": h["score"], "ended_with_eos": h["ended_with_eos"],
            "token_log_probs": [round(x, 7) for x in h["token_log_probs"]], "tokens": [tvocab[i] for i in h["ids"]]}


def make_run(ref, cfg, tvocab, rng, name, opts, how, n=6):
    o = so.options(**opts)
    eos = cfg["special_tokens"]["eos"]
    lines, expected, draws = [], [], 0
    while len(expected) < n:
        draws += 1
        if draws > 2000:
            raise RuntimeError(f"{name}: could not find {n} inputs without near ties")
        src = mf.random_source(rng, cfg, 1, 12 if how.get("long") else 8)
        if how.get("long") and len(expected) % 2 == 0 and len(src) <= 3:
            continue
        line = {"source_ids": src}
        prefix = []
        if how.get("prefix") and len(expected) % 3 != 2:
            prefix = [rng.choice([y for y in range(cfg["target_vocab_size"]) if y != eos])
                      for _ in range(rng.randint(1, 3))]
            line["target_prefix"] = prefix
        index = len(expected)  # the line's position in the run's input file
        hyps, margin, warnings = so.translate(ref, src, o, prefix, index)
        if margin < MIN_GAP:
            continue
        best = hyp_json(hyps[0], tvocab)
        if o["n_best"] > 1:
            best["n_best"] = [hyp_json(h, tvocab) for h in hyps]
        best["margin"] = mf.sig(margin)
        if warnings:
            best["warnings"] = warnings
        lines.append(line)
        expected.append(best)
    return lines, expected, draws


def make_case(spec, out_root):
    vspec = dict(name=spec["name"], desc=spec["desc"], cfg=spec["cfg"], n_inputs=4)
    mf.make_valid(vspec, out_root, spec["index"])
    cdir = os.path.join(out_root, spec["name"])
    with open(os.path.join(cdir, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    loaded, cfg, _, tvocab = st.load_model_dir(os.path.join(cdir, "model"))
    ref = st.to_reference(loaded)
    rng = random.Random(5000 + spec["index"])
    runs = []
    for name, opts, how in RUNS:
        lines, expected, draws = make_run(ref, cfg, tvocab, rng, name, opts, how)
        inputs, exp = f"options_{name}.jsonl", f"options_{name}_expected.jsonl"
        mf.dump_jsonl(os.path.join(cdir, inputs), lines)
        mf.dump_jsonl(os.path.join(cdir, exp), expected)
        runs.append({"name": name, "options": opts, "inputs": inputs, "expected": exp, "input_draws": draws})
        case["files"] += [inputs, exp]
    case["option_runs"] = runs
    with open(os.path.join(cdir, "case.json"), "w", encoding="utf-8") as f:
        json.dump(case, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return f"{spec['name']}: {len(runs)} option runs"


def readme_rows():
    return [f"| {c['name']} | {c['desc']} |" for c in CASES]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(mf.REPO, "Tests", "Fixtures", "golden"))
    ap.add_argument("--only")
    a = ap.parse_args()
    torch.set_num_threads(1)
    for spec in CASES:
        if not a.only or a.only in spec["name"]:
            print(make_case(spec, a.out), flush=True)


if __name__ == "__main__":
    main()
