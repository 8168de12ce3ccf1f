#!/usr/bin/env python3
"""Check that tools/seq2seq_torch.py reproduces a fixture set's expectations.

    /work/venv/bin/python tools/check_torch_vs_fixtures.py [FIXTURES_DIR ...] [--only SUBSTR] [-v]

Default FIXTURES_DIR: ../shared/fixtures (the shared golden set) and Tests/Fixtures/golden.
For every valid case: greedy, beam (n_best, scores), scoring, text inputs and bad inputs (and, for format 2,
the decoding_defaults beam, bad score lines and bad text lines) are recomputed
in float64 and compared as check.py does (ids exact unless a recorded gap/margin < 1e-3, log-probs
within 2e-4, attention within 1e-4). Invalid cases must be refused by load_model_dir.
Prints one line per case and ends with `N passed, M failed`.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq2seq_torch as st  # noqa: E402

TIE = 1e-3
LP_TOL = 2e-4
ATT_TOL = 1e-4


class Fail(Exception):
    pass


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f if ln.strip()]


class Stats:
    def __init__(self):
        self.lp = 0.0
        self.att = 0.0
        self.ties = 0


def cmp_hyp(exp, got, where, stats, gaps=None, margin=None):
    if got["ids"] != exp["ids"]:
        e, g = exp["ids"], got["ids"]
        t = next((i for i, (a, b) in enumerate(zip(e, g)) if a != b), min(len(e), len(g)))
        if gaps is not None and t < len(gaps) and gaps[t] < TIE:
            stats.ties += 1
            return False
        if margin is not None and margin < TIE:
            stats.ties += 1
            return False
        raise Fail(f"{where}: ids differ at {t}: expected {e[:15]}, got {g[:15]}")
    d = abs(got["log_prob"] - exp["log_prob"])
    stats.lp = max(stats.lp, d)
    if d > LP_TOL:
        raise Fail(f"{where}: log_prob {got['log_prob']:.6f} expected {exp['log_prob']:.6f}")
    if "score" in exp:
        d = abs(got["score"] - exp["score"])
        stats.lp = max(stats.lp, d)
        if d > LP_TOL:
            raise Fail(f"{where}: score {got['score']:.6f} expected {exp['score']:.6f}")
    if "token_log_probs" in exp and "token_log_probs" in got:
        for a, b in zip(exp["token_log_probs"], got["token_log_probs"]):
            stats.lp = max(stats.lp, abs(a - b))
            if abs(a - b) > LP_TOL:
                raise Fail(f"{where}: token_log_probs differ ({a} vs {b})")
    if "ended_with_eos" in exp and exp["ended_with_eos"] != got["ended_with_eos"]:
        raise Fail(f"{where}: ended_with_eos {got['ended_with_eos']} expected {exp['ended_with_eos']}")
    ea, ga = exp.get("attention"), got.get("attention")
    if ea is None:
        if ga not in (None, []):
            raise Fail(f"{where}: unexpected attention")
    else:
        if ga is None or len(ga) != len(ea):
            raise Fail(f"{where}: {None if ga is None else len(ga)} attention rows, expected {len(ea)}")
        for r1, r2 in zip(ea, ga):
            if len(r1) != len(r2):
                raise Fail(f"{where}: attention row length {len(r2)} expected {len(r1)}")
            for a, b in zip(r1, r2):
                stats.att = max(stats.att, abs(a - b))
                if abs(a - b) > ATT_TOL:
                    raise Fail(f"{where}: attention {b} expected {a}")
    return True


def check_greedy_lines(model, case, inputs, expected, where, stats, vocab_s=None):
    g = case["greedy"]
    for i, (inp, exp) in enumerate(zip(inputs, expected), 1):
        w = f"{where} line {i}"
        if exp.get("error"):
            continue
        if "source_ids" in inp:
            src = inp["source_ids"]
        else:
            src = st.encode_text(inp["source"], vocab_s, case["config"])
        if "source_ids" in exp and exp["source_ids"] != src:
            raise Fail(f"{w}: tokenization {src} expected {exp['source_ids']}")
        got = st.greedy(model, src, max_length=g.get("max_length"), min_length=g.get("min_length") or 0)
        cmp_hyp(exp, got, w, stats, gaps=exp.get("gaps"))


def check_case(case_dir, stats):
    with open(os.path.join(case_dir, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    mdir = os.path.join(case_dir, "model")
    if case.get("kind") == "invalid":
        try:
            st.load_model_dir(mdir)
        except Exception as e:  # noqa: BLE001 - any refusal counts
            msg = str(e)
            ment = case.get("stderr_mentions_any") or []
            if ment and not any(m.lower() in msg.lower() for m in ment):
                return f"refused, but message {msg[:120]!r} mentions none of {ment}", True
            return f"refused: {msg[:100]}", False
        raise Fail(f"invalid model ({case.get('why')}) was accepted by load_model_dir")
    model32, cfg, vs, vt = st.load_model_dir(mdir)
    model = st.to_reference(model32)
    inputs = read_jsonl(os.path.join(case_dir, "inputs.jsonl"))
    check_greedy_lines(model, case, inputs, read_jsonl(os.path.join(case_dir, "expected_greedy.jsonl")), "greedy",
                       stats)
    b = case["beam"]
    for i, (inp, exp) in enumerate(zip(inputs, read_jsonl(os.path.join(case_dir, "expected_beam.jsonl"))), 1):
        hyps, margin = st.beam_search(model, inp["source_ids"], beam_size=b["beam_size"], n_best=b["n_best"],
                                      length_penalty=b["length_penalty"], max_length=b.get("max_length"),
                                      min_length=b.get("min_length") or 0)
        if len(hyps) != len(exp["n_best"]):
            raise Fail(f"beam line {i}: {len(hyps)} hypotheses, expected {len(exp['n_best'])}")
        for k, (e, g) in enumerate(zip(exp["n_best"], hyps)):
            if not cmp_hyp(e, g, f"beam line {i} n_best[{k}]", stats, margin=exp.get("margin")):
                break
    sc_in = read_jsonl(os.path.join(case_dir, "score_inputs.jsonl"))
    for i, (inp, exp) in enumerate(zip(sc_in, read_jsonl(os.path.join(case_dir, "expected_score.jsonl"))), 1):
        got = st.score(model, inp["source_ids"], inp["target_ids"])
        for a, c in zip(exp["token_log_probs"], got["token_log_probs"]):
            stats.lp = max(stats.lp, abs(a - c))
            if abs(a - c) > LP_TOL:
                raise Fail(f"score line {i}: {c} expected {a}")
        if abs(exp["log_prob"] - got["log_prob"]) > LP_TOL:
            raise Fail(f"score line {i}: log_prob {got['log_prob']} expected {exp['log_prob']}")
    files = set(case.get("files", []))
    if "text_inputs.jsonl" in files:
        check_greedy_lines(model, case, read_jsonl(os.path.join(case_dir, "text_inputs.jsonl")),
                           read_jsonl(os.path.join(case_dir, "expected_text_greedy.jsonl")), "text", stats, vs)
    if "text_inputs.txt" in files:
        with open(os.path.join(case_dir, "text_inputs.txt"), encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")[:-1]
        with open(os.path.join(case_dir, "expected_text_output.txt"), encoding="utf-8", newline="") as f:
            exp_lines = f.read().split("\n")[:-1]
        if len(lines) != len(exp_lines):
            raise Fail("text_inputs.txt / expected_text_output.txt line counts differ")
        g = case["greedy"]
        for i, (ln, ex) in enumerate(zip(lines, exp_lines), 1):
            src = st.encode_text(ln, vs, cfg)
            r = st.greedy(model, src, max_length=g.get("max_length"), min_length=g.get("min_length") or 0)
            out = st.output_text(r["ids"], vt, cfg)
            if out != ex and min(r["gaps"]) >= TIE:
                raise Fail(f"text output line {i}: {out!r} expected {ex!r}")
    if "bad_inputs.jsonl" in files:
        with open(os.path.join(case_dir, "bad_inputs.jsonl"), encoding="utf-8") as f:
            raw = [ln for ln in f if ln.strip()]
        exp = read_jsonl(os.path.join(case_dir, "expected_bad.jsonl"))
        if len(raw) != len(exp):
            raise Fail("bad_inputs.jsonl / expected_bad.jsonl line counts differ")
        for i, (ln, e) in enumerate(zip(raw, exp), 1):
            err = None
            try:
                d = json.loads(ln)
                src = d["source_ids"] if "source_ids" in d else st.encode_text(d["source"], vs, cfg)
                if not src or any((not isinstance(x, int)) or x < 0 or x >= cfg["source_vocab_size"] for x in src):
                    err = "bad ids"
            except (ValueError, KeyError, TypeError):
                err = "bad line"
            if bool(err) != bool(e.get("error")):
                raise Fail(f"bad_inputs line {i}: error={err} but expected {e}")
            if e.get("error") and e.get("line") != i:
                raise Fail(f"bad_inputs line {i}: expected line number {e.get('line')}")
            if not err:
                g = case["greedy"]
                got = st.greedy(model, src, max_length=g.get("max_length"), min_length=g.get("min_length") or 0)
                cmp_hyp(e, got, f"bad_inputs line {i}", stats, gaps=e.get("gaps"))
    if "expected_defaults.jsonl" in files:
        d = case["defaults"]
        dd = cfg.get("decoding_defaults") or {}
        if (dd.get("beam_size", 5), dd.get("min_length", 0)) != (d["beam_size"], d["min_length"]):
            raise Fail(f"case defaults {d} differ from the config's decoding_defaults {dd}")
        for i, (inp, exp) in enumerate(zip(inputs, read_jsonl(os.path.join(case_dir, "expected_defaults.jsonl"))), 1):
            hyps, _ = st.beam_search(model, inp["source_ids"], beam_size=d["beam_size"], n_best=1, length_penalty=1.0,
                                     max_length=d.get("max_length"), min_length=d["min_length"])
            cmp_hyp(exp["n_best"][0], hyps[0], f"defaults line {i}", stats, margin=exp.get("margin"))
    if "bad_score_inputs.jsonl" in files:
        exp = read_jsonl(os.path.join(case_dir, "expected_bad_score.jsonl"))
        with open(os.path.join(case_dir, "bad_score_inputs.jsonl"), encoding="utf-8") as f:
            raw = [ln for ln in f if ln.strip()]
        for i, (ln, e) in enumerate(zip(raw, exp), 1):
            try:
                d = json.loads(ln)
                src = d["source_ids"] if "source_ids" in d else st.encode_text(d["source"], vs, cfg)
                tgt = d["target_ids"] if "target_ids" in d else st.encode_text(d["target"], vt, cfg)
                ok = bool(src) and all(isinstance(x, int) and 0 <= x < cfg["source_vocab_size"] for x in src) and \
                    all(isinstance(x, int) and 0 <= x < cfg["target_vocab_size"] for x in tgt)
            except (ValueError, KeyError, TypeError):
                ok = False
            if ok == bool(e.get("error")):
                raise Fail(f"bad score line {i}: refused={not ok} but expected {e}")
            if ok:
                got = st.score(model, src, tgt)
                for a, c in zip(e["token_log_probs"], got["token_log_probs"]):
                    if abs(a - c) > LP_TOL:
                        raise Fail(f"bad score line {i}: {c} expected {a}")
    if "bad_text_inputs.txt" in files:
        with open(os.path.join(case_dir, "bad_text_inputs.txt"), encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")[:-1]
        with open(os.path.join(case_dir, "expected_bad_text_output.txt"), encoding="utf-8", newline="") as f:
            exp_lines = f.read().split("\n")[:-1]
        errors = set(case.get("bad_text_error_lines", []))
        g = case["greedy"]
        for i, (ln, ex) in enumerate(zip(lines, exp_lines), 1):
            try:
                src = st.encode_text(ln, vs, cfg)
            except ValueError:
                src = None
            if (src is None) != (i in errors):
                raise Fail(f"bad text line {i}: refused={src is None}, expected refused={i in errors}")
            if src is not None:
                r = st.greedy(model, src, max_length=g.get("max_length"), min_length=g.get("min_length") or 0)
                if st.output_text(r["ids"], vt, cfg) != ex:
                    raise Fail(f"bad text line {i}: output differs from {ex!r}")
            elif ex != "":
                raise Fail(f"bad text line {i}: an error line must be answered by an empty line")
    return "", False


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*")
    ap.add_argument("--only")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    dirs = a.dirs or [os.path.join(repo, "..", "shared", "fixtures"), os.path.join(repo, "Tests", "Fixtures", "golden")]
    passed = failed = 0
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            cd = os.path.join(d, name)
            if not os.path.isfile(os.path.join(cd, "case.json")) or (a.only and a.only not in name):
                continue
            stats = st_stats = Stats()
            try:
                note, bad = check_case(cd, stats)
            except Fail as e:
                note, bad = str(e), True
            if bad:
                failed += 1
                print(f"FAIL {name}: {note}")
            else:
                passed += 1
                print(f"ok   {name}: max |dlogp| {st_stats.lp:.1e}, max |datt| {st_stats.att:.1e}, "
                      f"near-ties {st_stats.ties}" + (f" ({note})" if note else ""))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
