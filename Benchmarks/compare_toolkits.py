#!/usr/bin/env python3
"""Seq2Seq against the toolkits' own translate commands, on the models the toolkits trained.

    python3 Benchmarks/compare_toolkits.py [--venvs /work/venvs] [--threads 2] [--lines 200]
                                           [--models onmt_brnn_lstm_general,joey_lstm_luong,...]

For each committed toolkit model (Tests/Fixtures/toolkits/NAME) it converts the checkpoint with
`seq2seq convert`, then times three workloads on the same sources (the model's test.src, repeated):
greedy one sentence at a time (B1), greedy in batches of 32, and beam 5 one sentence at a time; our
release CLI against `onmt_translate` (OpenNMT-py models) or `python -m joeynmt translate` (JoeyNMT
models), every contender on the CPU with the same thread count (OMP_NUM_THREADS / MKL_NUM_THREADS and
torch's intra-op threads for the toolkits, --threads for us).

Timing is the bar's method: whole-process runs with N and 2N sentences, so start-up (Python imports,
model loading) cancels: tokens/s = (tokens(2N) - tokens(N)) / (seconds(2N) - seconds(N)), where tokens
count the output words plus one end-of-sentence per line, as each system printed them. One run each;
the machine is shared, so compare the ratios of one run only.

The toolkits are developer tools in their own virtual environments (tools/toolkits/README.md); nothing
here is needed by the tests or CI.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "toolkits")
WORKLOADS = [("greedy B1", 1, 1), ("greedy B32", 1, 32), ("beam 5 B1", 5, 1)]
MAX_LENGTH = 50


def run(cmd, env=None, stdin=None, stdout=subprocess.DEVNULL):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def tokens(path):
    with open(path, encoding="utf-8") as f:
        return sum(len(line.split()) + 1 for line in f)


def ours(cli, model, src, out, beam, batch, threads):
    with open(src) as fin, open(out, "w") as fout:
        start = time.perf_counter()
        subprocess.run([cli, "translate", "--model", model, "--beam-size", str(beam), "--batch-size", str(batch),
                        "--max-length", str(MAX_LENGTH), "--threads", str(threads), "--quiet"],
                       stdin=fin, stdout=fout, check=True)
        return time.perf_counter() - start


def onmt(venvs, name, src, out, beam, batch, env):
    ckpt = next(os.path.join(FIXTURES, name, f) for f in sorted(os.listdir(os.path.join(FIXTURES, name))) if f.endswith(".pt"))
    return run([os.path.join(venvs, "onmt", "bin", "onmt_translate"), "-model", ckpt, "-src", src, "-output", out,
                "-beam_size", str(beam), "-batch_size", str(batch), "-max_length", str(MAX_LENGTH),
                "-max_length_ratio", "0", "-gpu", "-1"], env=env)


def joey(venvs, name, src, out, beam, batch, env, scratch):
    model_dir = os.path.join(scratch, f"joey-{name}-{beam}-{batch}")
    if not os.path.exists(model_dir):
        shutil.copytree(os.path.join(FIXTURES, name), model_dir)
        cfg_path = os.path.join(model_dir, "config.yaml")
        subprocess.run([os.path.join(venvs, "joey", "bin", "python"), "-c", f"""
import yaml, sys
cfg = yaml.safe_load(open({cfg_path!r}))
cfg["model_dir"] = {model_dir!r}
cfg.setdefault("testing", {{}}).update({{"beam_size": {beam}, "batch_size": {batch}, "batch_type": "sentence",
    "max_output_length": {MAX_LENGTH}, "min_output_length": 1}})
cfg["use_cuda"] = False
yaml.safe_dump(cfg, open({cfg_path!r}, "w"))
"""], check=True)
    # JoeyNMT 2.3.0's `translate -o FILE` fails after decoding (its config has no n_best): read stdout instead.
    with open(src) as fin, open(out, "w") as fout:
        return run([os.path.join(venvs, "joey", "bin", "python"), "-m", "joeynmt", "translate",
                    os.path.join(model_dir, "config.yaml")], env=env, stdin=fin, stdout=fout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venvs", default="/work/venvs", help="folder with the onmt and joey virtual environments")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lines", type=int, default=200, help="N for the toolkits: sentences of the smaller run (the larger has 2N)")
    ap.add_argument("--our-lines", type=int, default=4000,
                    help="N for our CLI (it is so much faster that a toolkit's N would be lost in start-up noise)")
    ap.add_argument("--models", default="onmt_brnn_lstm_general,onmt_gru_mlp_bridge,joey_lstm_luong")
    args = ap.parse_args()

    subprocess.run(["swift", "build", "-c", "release", "--product", "seq2seq"], cwd=ROOT, check=True)
    cli = os.path.join(ROOT, ".build", "release", "seq2seq")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads), CUDA_VISIBLE_DEVICES="")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.models.split(","):
            kind = "onmt" if name.startswith("onmt") else "joey" if name.startswith("joey") else None
            if kind is None:
                print(f"skipping {name}: no toolkit translate command is timed for it", file=sys.stderr)
                continue
            converted = os.path.join(scratch, name)
            source = "joeynmt" if kind == "joey" else "opennmt-py"
            path = os.path.join(FIXTURES, name) if kind == "joey" else \
                next(os.path.join(FIXTURES, name, f) for f in sorted(os.listdir(os.path.join(FIXTURES, name))) if f.endswith(".pt"))
            subprocess.run([cli, "convert", source, path, "--output", converted], check=True, stdout=subprocess.DEVNULL)
            lines = open(os.path.join(FIXTURES, name, "test.src"), encoding="utf-8").read().splitlines()
            srcs = {}
            for n in (args.lines, 2 * args.lines, args.our_lines, 2 * args.our_lines):
                srcs[n] = os.path.join(scratch, f"{name}-{n}.src")
                with open(srcs[n], "w", encoding="utf-8") as f:
                    f.write("\n".join((lines * (n // len(lines) + 1))[:n]) + "\n")
            for label, beam, batch in WORKLOADS:
                result = {}
                for who in ("ours", kind):
                    seconds, toks = {}, {}
                    n1 = args.our_lines if who == "ours" else args.lines
                    for n in (n1, 2 * n1):
                        src = srcs[n]
                        out = os.path.join(scratch, f"{name}-{who}-{beam}-{batch}-{n}.out")
                        if who == "ours":
                            seconds[n] = ours(cli, converted, src, out, beam, batch, args.threads)
                        elif who == "onmt":
                            seconds[n] = onmt(args.venvs, name, src, out, beam, batch, env)
                        else:
                            seconds[n] = joey(args.venvs, name, src, out, beam, batch, env, scratch)
                        toks[n] = tokens(out)
                    n2 = 2 * n1
                    result[who] = (toks[n2] - toks[n1]) / max(seconds[n2] - seconds[n1], 1e-9)
                rows.append((name, label, result["ours"], result[kind], kind))
                print(f"{name} {label}: ours {result['ours']:,.0f} tok/s, {kind} {result[kind]:,.0f} tok/s", file=sys.stderr, flush=True)

    print(f"\n{args.threads} threads; N = {args.our_lines} (ours) or {args.lines} (toolkits) and 2N sentences; "
          "tokens/s from the difference of the two runs\n")
    print("| model | workload | Seq2Seq tok/s | toolkit tok/s | ratio |")
    print("|---|---|---|---|---|")
    for name, label, ours_tps, theirs, kind in rows:
        tool = "onmt_translate" if kind == "onmt" else "joeynmt translate"
        print(f"| {name} | {label} | {ours_tps:,.0f} | {theirs:,.0f} ({tool}) | {ours_tps / theirs:.1f}× |")


if __name__ == "__main__":
    main()
