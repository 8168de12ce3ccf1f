#!/usr/bin/env python3
"""(A copy of ../shared/fixtures/check.py, kept so the repository's own golden cases can be checked
through the command line in a clone without ../shared; extended for format 2 with two optional steps:
`expected_defaults.jsonl` (the CLI run without --beam-size/--min-length/--n-best/--length-penalty, so the
model's decoding_defaults apply) and `bad_text_inputs.txt` (--format text with line errors); it also checks the
"option_runs" of the decoding-options cases, MODEL.md "Decoding options".)

Run a seq2seq engine's command line over a fixture directory and compare with the expectations.

    python3 check.py FIXTURES_DIR --cli PATH_TO_seq2seq_BINARY [-v] [--only SUBSTR]

Needs only the Python standard library. Prints one line per failing case and ends with
`N passed, M failed`; exits 0 only when nothing failed.
"""
import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import time

TIE_GAP = 1e-3      # a decision whose recorded gap is below this may go either way
LP_TOL = 2e-4       # log-probabilities and scores, absolute
ATT_TOL = 1e-4      # attention weights, absolute
INVALID_TIMEOUT = 10.0


# --------------------------------------------------------------------------- running the CLI

def run_cli(cmd, timeout):
    """Returns dict(rc, out, err, secs) or dict(fail=reason)."""
    t0 = time.time()
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    except FileNotFoundError:
        return {"fail": f"cannot run {cmd[0]}: not found"}
    except PermissionError:
        return {"fail": f"cannot run {cmd[0]}: permission denied"}
    except OSError as e:
        return {"fail": f"cannot run {cmd[0]}: {e}"}
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.communicate()
        return {"fail": f"timed out after {timeout:g} s: {' '.join(cmd[1:])}"}
    return {"rc": p.returncode, "out": out.decode("utf-8", "replace"), "err": err.decode("utf-8", "replace"),
            "secs": time.time() - t0}


def rc_text(rc):
    if rc < 0:
        try:
            return f"killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"


def out_lines(text):
    return [ln for ln in text.split("\n") if ln.strip()]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def count_lines(path):
    with open(path, encoding="utf-8") as f:
        return sum(1 for ln in f if ln.strip())


def parse_lines(lines, where):
    res = []
    for i, ln in enumerate(lines, 1):
        try:
            res.append(json.loads(ln))
        except ValueError:
            raise Problem(f"{where}: output line {i} is not JSON: {ln[:80]!r}")
    return res


class Problem(Exception):
    pass


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def is_ids(x):
    return isinstance(x, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in x)


# --------------------------------------------------------------------------- comparisons

class Ctx:
    def __init__(self, eos_row):
        self.eos_row = eos_row
        self.ties = 0
        self.notes = []


def cmp_attention(exp, got, n_ids, ctx, where):
    """exp: expected rows (one per decoding step, the eos step included) or None (attention 'none')."""
    if exp is None:
        if got in (None, []) or (isinstance(got, list) and all(r == [] for r in got)):
            return
        raise Problem(f"{where}: model has no attention but output has attention {str(got)[:60]}")
    if got is None:
        raise Problem(f"{where}: no \"attention\" in the output")
    if not isinstance(got, list) or not all(isinstance(r, list) for r in got):
        raise Problem(f"{where}: \"attention\" is not a list of rows")
    allowed = set()
    with_eos = len(exp)
    if ctx.eos_row in ("either", "required"):
        allowed.add(with_eos)
    if ctx.eos_row in ("either", "forbidden"):
        allowed.add(n_ids)
    if len(got) not in allowed:
        raise Problem(f"{where}: {len(got)} attention rows, expected {' or '.join(str(a) for a in sorted(allowed))}")
    for t, (er, gr) in enumerate(zip(exp, got)):
        if len(er) != len(gr):
            raise Problem(f"{where}: attention row {t + 1} has {len(gr)} values, expected {len(er)} (source length)")
        for j, (a, b) in enumerate(zip(er, gr)):
            if not is_num(b) or abs(a - b) > ATT_TOL:
                raise Problem(f"{where}: attention[{t + 1}][{j + 1}] = {b}, expected {a:.6f}")


def cmp_hyp(exp, got, ctx, where, gaps=None, margin=None, check_att=True, att_required=True):
    """Compare one output hypothesis. Returns False when a near-tie divergence was accepted."""
    if not isinstance(got, dict):
        raise Problem(f"{where}: output is not a JSON object")
    if "error" in got:
        raise Problem(f"{where}: engine answered with error {str(got['error'])[:100]!r}")
    ids = got.get("ids")
    if not is_ids(ids):
        raise Problem(f"{where}: \"ids\" missing or not a list of integers")
    e_ids = exp["ids"]
    if ids != e_ids:
        t = next((i for i, (a, b) in enumerate(zip(e_ids, ids)) if a != b), min(len(e_ids), len(ids)))
        if gaps is not None:
            gap = gaps[t] if t < len(gaps) else math.inf
            if gap < TIE_GAP:
                ctx.ties += 1
                ctx.notes.append(f"{where}: ids differ at step {t + 1}, a near-tie (gap {gap:.1e}); accepted")
                return False
        if margin is not None and margin < TIE_GAP:
            ctx.ties += 1
            ctx.notes.append(f"{where}: ids differ, beam near-tie (margin {margin:.1e}); accepted")
            return False
        ex = e_ids[t] if t < len(e_ids) else "end"
        gt = ids[t] if t < len(ids) else "end"
        raise Problem(f"{where}: ids differ at step {t + 1}: expected {ex}, got {gt} "
                      f"(expected {e_ids[:12]}{'...' if len(e_ids) > 12 else ''}, got {ids[:12]}{'...' if len(ids) > 12 else ''})")
    lp = got.get("log_prob")
    if not is_num(lp):
        raise Problem(f"{where}: \"log_prob\" missing or not a finite number")
    if abs(lp - exp["log_prob"]) > LP_TOL:
        raise Problem(f"{where}: log_prob {lp:.6f}, expected {exp['log_prob']:.6f} (diff {lp - exp['log_prob']:.2e})")
    if "score" in exp:
        sc = got.get("score")
        if not is_num(sc):
            raise Problem(f"{where}: \"score\" missing or not a finite number")
        if abs(sc - exp["score"]) > LP_TOL:
            raise Problem(f"{where}: score {sc:.6f}, expected {exp['score']:.6f}")
    if "tokens" in exp and "tokens" in got and got["tokens"] != exp["tokens"]:
        raise Problem(f"{where}: tokens {str(got['tokens'])[:80]}, expected {str(exp['tokens'])[:80]}")
    if check_att:
        if "attention" in got or att_required:
            cmp_attention(exp.get("attention"), got.get("attention"), len(e_ids), ctx, where)
    return True


def check_greedy_file(cli, case_dir, case, inputs, expected, ctx, where, timeout, extra=()):
    g = case["greedy"]
    cmd = [cli, "translate", "--model", os.path.join(case_dir, "model"), "--format", "jsonl", "--attention",
           "--beam-size", "1", "--input", os.path.join(case_dir, inputs)]
    cmd += decode_flags(g) + list(extra)
    r = run_cli(cmd, timeout)
    if "fail" in r:
        raise Problem(f"{where}: {r['fail']}")
    if r["rc"] != 0:
        raise Problem(f"{where}: {rc_text(r['rc'])}; stderr: {r['err'].strip()[:200]!r}")
    exp = read_jsonl(os.path.join(case_dir, expected))
    got = parse_lines(out_lines(r["out"]), where)
    if len(got) != len(exp):
        raise Problem(f"{where}: {len(got)} output lines for {len(exp)} input lines")
    for i, (e, o) in enumerate(zip(exp, got), 1):
        cmp_hyp(e, o, ctx, f"{where} line {i}", gaps=e.get("gaps"))


def decode_flags(d):
    f = []
    if d.get("max_length") is not None:
        f += ["--max-length", str(d["max_length"])]
    if d.get("min_length"):
        f += ["--min-length", str(d["min_length"])]
    if d.get("batch_size") is not None:
        f += ["--batch-size", str(d["batch_size"])]
    return f


def check_beam(cli, case_dir, case, ctx, timeout):
    b = case["beam"]
    where = "beam"
    cmd = [cli, "translate", "--model", os.path.join(case_dir, "model"), "--format", "jsonl", "--attention",
           "--beam-size", str(b["beam_size"]), "--n-best", str(b["n_best"]),
           "--length-penalty", repr(float(b["length_penalty"])), "--input", os.path.join(case_dir, "inputs.jsonl")]
    cmd += decode_flags(b)
    r = run_cli(cmd, timeout)
    if "fail" in r:
        raise Problem(f"{where}: {r['fail']}")
    if r["rc"] != 0:
        raise Problem(f"{where}: {rc_text(r['rc'])}; stderr: {r['err'].strip()[:200]!r}")
    exp = read_jsonl(os.path.join(case_dir, "expected_beam.jsonl"))
    got = parse_lines(out_lines(r["out"]), where)
    if len(got) != len(exp):
        raise Problem(f"{where}: {len(got)} output lines for {len(exp)} input lines")
    N = b["n_best"]
    for i, (e, o) in enumerate(zip(exp, got), 1):
        w = f"{where} line {i}"
        m = e.get("margin")
        if not cmp_hyp(e["n_best"][0], o, ctx, w, margin=m):
            continue
        if N > 1:
            nb = o.get("n_best")
            if not isinstance(nb, list):
                raise Problem(f"{w}: no \"n_best\" list (n_best = {N})")
            if len(nb) != N:
                raise Problem(f"{w}: \"n_best\" has {len(nb)} entries, expected {N}")
            for k, (eh, gh) in enumerate(zip(e["n_best"], nb), 1):
                if not cmp_hyp(eh, gh, ctx, f"{w} n_best[{k}]", margin=m, att_required=False):
                    break


def check_score(cli, case_dir, inputs, expected, ctx, where, timeout, want_rc=0):
    cmd = [cli, "score", "--model", os.path.join(case_dir, "model"), "--input", os.path.join(case_dir, inputs)]
    r = run_cli(cmd, timeout)
    if "fail" in r:
        raise Problem(f"{where}: {r['fail']}")
    if r["rc"] != want_rc:
        raise Problem(f"{where}: {rc_text(r['rc'])}, expected exit status {want_rc}; stderr: {r['err'].strip()[:200]!r}")
    exp = read_jsonl(os.path.join(case_dir, expected))
    got = parse_lines(out_lines(r["out"]), where)
    if len(got) != len(exp):
        raise Problem(f"{where}: {len(got)} output lines for {len(exp)} input lines")
    for i, (e, o) in enumerate(zip(exp, got), 1):
        w = f"{where} line {i}"
        if e.get("error"):
            check_error_line(o, e["line"], w)
            continue
        if not isinstance(o, dict) or "error" in o:
            raise Problem(f"{w}: expected a result, got {str(o)[:100]}")
        tl = o.get("token_log_probs")
        if not isinstance(tl, list) or len(tl) != len(e["token_log_probs"]):
            raise Problem(f"{w}: token_log_probs has {len(tl) if isinstance(tl, list) else 'no'} entries, "
                          f"expected {len(e['token_log_probs'])}")
        for t, (a, b) in enumerate(zip(e["token_log_probs"], tl), 1):
            if not is_num(b) or abs(a - b) > LP_TOL:
                raise Problem(f"{w}: token_log_probs[{t}] = {b}, expected {a:.6f}")
        lp = o.get("log_prob")
        if not is_num(lp) or abs(lp - e["log_prob"]) > LP_TOL:
            raise Problem(f"{w}: log_prob {lp}, expected {e['log_prob']:.6f}")


def check_error_line(o, n, where):
    if not isinstance(o, dict) or "error" not in o:
        raise Problem(f"{where}: expected an {{\"error\": ...}} line, got {str(o)[:100]}")
    msg = str(o["error"])
    if not re.search(r"(?<!\d)%d(?!\d)" % n, msg):
        raise Problem(f"{where}: error message does not name line {n}: {msg[:100]!r}")


def check_bad_inputs(cli, case_dir, case, ctx, timeout):
    where = "bad_inputs"
    cmd = [cli, "translate", "--model", os.path.join(case_dir, "model"), "--format", "jsonl", "--attention",
           "--beam-size", "1", "--input", os.path.join(case_dir, "bad_inputs.jsonl")] + decode_flags(case["greedy"])
    r = run_cli(cmd, timeout)
    if "fail" in r:
        raise Problem(f"{where}: {r['fail']}")
    if r["rc"] != 1:
        raise Problem(f"{where}: {rc_text(r['rc'])}, expected exit status 1; stderr: {r['err'].strip()[:200]!r}")
    exp = read_jsonl(os.path.join(case_dir, "expected_bad.jsonl"))
    n_in = count_lines(os.path.join(case_dir, "bad_inputs.jsonl"))
    lines = out_lines(r["out"])
    if len(lines) != n_in:
        raise Problem(f"{where}: {len(lines)} output lines for {n_in} input lines")
    got = parse_lines(lines, where)
    for i, (e, o) in enumerate(zip(exp, got), 1):
        w = f"{where} line {i}"
        if e.get("error"):
            check_error_line(o, e["line"], w)
        else:
            cmp_hyp(e, o, ctx, w, gaps=e.get("gaps"))


def check_defaults(cli, case_dir, case, ctx, timeout):
    """decoding_defaults: translate inputs.jsonl giving no --beam-size, --min-length, --n-best or
    --length-penalty; the model's defaults apply (case["defaults"] holds them and the expectations' options)."""
    where = "decoding_defaults"
    cmd = [cli, "translate", "--model", os.path.join(case_dir, "model"), "--format", "jsonl", "--attention",
           "--input", os.path.join(case_dir, "inputs.jsonl")]
    d = case["defaults"]
    cmd += decode_flags({"max_length": d.get("max_length"), "batch_size": d.get("batch_size")})
    r = run_cli(cmd, timeout)
    if "fail" in r:
        raise Problem(f"{where}: {r['fail']}")
    if r["rc"] != 0:
        raise Problem(f"{where}: {rc_text(r['rc'])}; stderr: {r['err'].strip()[:200]!r}")
    exp = read_jsonl(os.path.join(case_dir, "expected_defaults.jsonl"))
    got = parse_lines(out_lines(r["out"]), where)
    if len(got) != len(exp):
        raise Problem(f"{where}: {len(got)} output lines for {len(exp)} input lines")
    for i, (e, o) in enumerate(zip(exp, got), 1):
        cmp_hyp(e["n_best"][0], o, ctx, f"{where} line {i} (beam {d['beam_size']}, min {d['min_length']})",
                margin=e.get("margin"))


def check_bad_text(cli, case_dir, case, timeout):
    """--format text with lines that cannot be tokenized: each is reported on stderr naming its line and
    answered by an empty output line; the other lines are translated; exit status 1."""
    where = "bad text format"
    cmd = [cli, "translate", "--model", os.path.join(case_dir, "model"), "--format", "text", "--beam-size", "1",
           "--input", os.path.join(case_dir, "bad_text_inputs.txt")] + decode_flags(case["greedy"])
    r = run_cli(cmd, timeout)
    if "fail" in r:
        raise Problem(f"{where}: {r['fail']}")
    if r["rc"] != 1:
        raise Problem(f"{where}: {rc_text(r['rc'])}, expected exit status 1; stderr: {r['err'].strip()[:200]!r}")
    with open(os.path.join(case_dir, "expected_bad_text_output.txt"), encoding="utf-8") as f:
        exp = f.read().split("\n")[:-1]
    got = r["out"].split("\n")
    if got and got[-1] == "":
        got.pop()
    if len(got) != len(exp):
        raise Problem(f"{where}: {len(got)} output lines, expected {len(exp)}")
    for i, (a, b) in enumerate(zip(exp, got), 1):
        if a != b.rstrip("\r"):
            raise Problem(f"{where} line {i}: {b[:80]!r}, expected {a[:80]!r}")
    for n in case.get("bad_text_error_lines", []):
        if not re.search(r"(?<!\d)%d(?!\d)" % n, r["err"]):
            raise Problem(f"{where}: stderr does not name line {n}: {r['err'].strip()[:200]!r}")


def check_text_format(cli, case_dir, case, timeout):
    where = "text format"
    cmd = [cli, "translate", "--model", os.path.join(case_dir, "model"), "--format", "text", "--beam-size", "1",
           "--input", os.path.join(case_dir, "text_inputs.txt")] + decode_flags(case["greedy"])
    r = run_cli(cmd, timeout)
    if "fail" in r:
        raise Problem(f"{where}: {r['fail']}")
    if r["rc"] != 0:
        raise Problem(f"{where}: {rc_text(r['rc'])}; stderr: {r['err'].strip()[:200]!r}")
    with open(os.path.join(case_dir, "expected_text_output.txt"), encoding="utf-8") as f:
        exp = f.read().split("\n")[:-1]
    got = r["out"].split("\n")
    if got and got[-1] == "":
        got.pop()
    if len(got) != len(exp):
        raise Problem(f"{where}: {len(got)} output lines, expected {len(exp)}")
    for i, (a, b) in enumerate(zip(exp, got), 1):
        if a != b.rstrip("\r"):
            raise Problem(f"{where} line {i}: {b[:80]!r}, expected {a[:80]!r}")


def option_flags(opts):
    """Decoding options (snake case, MODEL.md "Decoding options") as command-line flags."""
    f = ["--beam-size", str(opts.get("beam_size", 1))]
    for k, v in opts.items():
        if k == "beam_size":
            continue
        flag = "--" + k.replace("_", "-")
        if k == "suppress_sequences":
            for sq in v:
                f += ["--suppress-sequence", ",".join(str(i) for i in sq)]
        elif isinstance(v, bool):
            f += [flag] if v else []
        elif isinstance(v, list):
            f += [flag, ",".join(str(i) for i in v)]
        else:
            f += [flag, str(v)]
    return f


def check_option_runs(cli, case_dir, case, ctx, timeout):
    """Golden runs of MODEL.md "Decoding options" (cases with "option_runs"): ids exact (the generator avoids
    near ties), log-probabilities, scores and token log-probabilities within LP_TOL, n-best lists, warnings."""
    for run in case.get("option_runs", []):
        where = f"options {run['name']}"
        cmd = [cli, "translate", "--model", os.path.join(case_dir, "model"), "--format", "jsonl", "--return-scores",
               "--input", os.path.join(case_dir, run["inputs"])] + option_flags(run["options"])
        r = run_cli(cmd, timeout)
        if "fail" in r:
            raise Problem(f"{where}: {r['fail']}")
        if r["rc"] != 0:
            raise Problem(f"{where}: {rc_text(r['rc'])}; stderr: {r['err'].strip()[:200]!r}")
        exp = read_jsonl(os.path.join(case_dir, run["expected"]))
        got = parse_lines(out_lines(r["out"]), where)
        if len(got) != len(exp):
            raise Problem(f"{where}: {len(got)} output lines for {len(exp)} input lines")
        for i, (e, o) in enumerate(zip(exp, got), 1):
            w = f"{where} line {i}"
            pairs = [(e, o)]
            if "n_best" in e:
                nb = o.get("n_best")
                if not isinstance(nb, list) or len(nb) != len(e["n_best"]):
                    raise Problem(f"{w}: \"n_best\" should have {len(e['n_best'])} entries")
                pairs += list(zip(e["n_best"], nb))
            for eh, gh in pairs:
                cmp_hyp(eh, gh, ctx, w, check_att=False)
                tl = gh.get("token_log_probs")
                if not isinstance(tl, list) or len(tl) != len(eh["token_log_probs"]):
                    raise Problem(f"{w}: token_log_probs missing or of the wrong length")
                for t, (a, b) in enumerate(zip(eh["token_log_probs"], tl), 1):
                    if not is_num(b) or abs(a - b) > LP_TOL:
                        raise Problem(f"{w}: token_log_probs[{t}] = {b}, expected {a:.6f}")
            if e.get("warnings", []) != o.get("warnings", []):
                raise Problem(f"{w}: warnings {o.get('warnings')}, expected {e.get('warnings')}")


def check_valid(cli, case_dir, case, args):
    ctx = Ctx(args.eos_attention_row)
    problems = []
    steps = [("greedy", lambda: check_greedy_file(cli, case_dir, case, "inputs.jsonl", "expected_greedy.jsonl", ctx,
                                                  "greedy", args.timeout)),
             ("beam", lambda: check_beam(cli, case_dir, case, ctx, args.timeout)),
             ("score", lambda: check_score(cli, case_dir, "score_inputs.jsonl", "expected_score.jsonl", ctx, "score",
                                           args.timeout))]
    files = set(case.get("files", []))
    if "text_inputs.jsonl" in files:
        steps.append(("text", lambda: check_greedy_file(cli, case_dir, case, "text_inputs.jsonl",
                                                        "expected_text_greedy.jsonl", ctx, "text input", args.timeout)))
    if "text_inputs.txt" in files:
        steps.append(("textfmt", lambda: check_text_format(cli, case_dir, case, args.timeout)))
    if "bad_inputs.jsonl" in files:
        steps.append(("bad", lambda: check_bad_inputs(cli, case_dir, case, ctx, args.timeout)))
    if "expected_defaults.jsonl" in files:
        steps.append(("defaults", lambda: check_defaults(cli, case_dir, case, ctx, args.timeout)))
    if "bad_text_inputs.txt" in files:
        steps.append(("badtext", lambda: check_bad_text(cli, case_dir, case, args.timeout)))
    if case.get("option_runs"):
        steps.append(("options", lambda: check_option_runs(cli, case_dir, case, ctx, args.timeout)))
    if "bad_score_inputs.jsonl" in files:
        steps.append(("badscore", lambda: check_score(cli, case_dir, "bad_score_inputs.jsonl",
                                                      "expected_bad_score.jsonl", ctx, "bad score inputs",
                                                      args.timeout, want_rc=1)))
    for name, fn in steps:
        try:
            fn()
        except Problem as e:
            problems.append(str(e))
        except (OSError, ValueError, KeyError, TypeError) as e:
            problems.append(f"{name}: checker could not compare ({type(e).__name__}: {e})")
    return problems, ctx


def check_invalid(cli, case_dir, case, args):
    cmd = [cli, "translate", "--model", os.path.join(case_dir, "model"), "--format", "jsonl", "--beam-size", "1",
           "--input", os.path.join(case_dir, "inputs.jsonl")]
    r = run_cli(cmd, INVALID_TIMEOUT)
    tag = "" if case.get("spec_explicit", True) else " [rule not spelled out in MODEL.md]"
    if "fail" in r:
        return [f"invalid model ({case['why']}): {r['fail']}{tag}"]
    rc = r["rc"]
    if rc == 0:
        return [f"invalid model ({case['why']}) was accepted (exit status 0){tag}"]
    if rc < 0 or rc >= 128:
        return [f"invalid model ({case['why']}): {rc_text(rc)}, expected a clean non-zero exit{tag}"]
    err = r["err"].strip()
    if not err:
        return [f"invalid model ({case['why']}): exit status {rc} but nothing on stderr{tag}"]
    ment = case.get("stderr_mentions_any")
    # the case's own path may contain words like "cell" or "hidden_size": take it out before looking
    scrub = err
    for p in sorted({os.path.abspath(case_dir), case_dir, os.path.basename(os.path.normpath(case_dir))}, key=len,
                    reverse=True):
        scrub = scrub.replace(p, "")
    if ment and not any(m.lower() in scrub.lower() for m in ment):
        return [f"invalid model ({case['why']}): stderr does not mention any of {ment}: {err[:160]!r}{tag}"]
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fixtures")
    ap.add_argument("--cli", required=True, help="path to the seq2seq executable")
    ap.add_argument("--only", default=None, help="check only cases whose name contains this")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per CLI run on valid cases")
    ap.add_argument("--eos-attention-row", choices=["either", "required", "forbidden"], default="either",
                    help="whether the attention of a hypothesis ending in eos has a row for the eos step")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    cli = os.path.abspath(args.cli) if os.path.sep in args.cli else args.cli
    names = sorted(n for n in os.listdir(args.fixtures) if os.path.isfile(os.path.join(args.fixtures, n, "case.json")))
    if args.only:
        names = [n for n in names if args.only in n]
    passed = failed = 0
    for n in names:
        case_dir = os.path.join(args.fixtures, n)
        with open(os.path.join(case_dir, "case.json"), encoding="utf-8") as f:
            case = json.load(f)
        t0 = time.time()
        if case.get("kind") == "invalid":
            problems, ctx = check_invalid(cli, case_dir, case, args), None
        else:
            problems, ctx = check_valid(cli, case_dir, case, args)
        if problems:
            failed += 1
            print(f"FAIL {n}: " + " | ".join(problems), flush=True)
        else:
            passed += 1
            if args.verbose:
                extra = f" ({ctx.ties} near-tie divergences accepted)" if ctx and ctx.ties else ""
                print(f"ok   {n} [{time.time() - t0:.1f}s]{extra}", flush=True)
        if args.verbose and ctx:
            for note in ctx.notes:
                print(f"     note: {note}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
