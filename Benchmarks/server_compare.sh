#!/usr/bin/env bash
# Server configurations alternated within one run: for each set of seq2seq-server flags, a fresh server on
# loopback (the embedded date model) and a closed loop of 64 one-sentence clients over the held-out dates.
# Usage: Benchmarks/server_compare.sh SECONDS "FLAGS A" "FLAGS B" ...
#   e.g. Benchmarks/server_compare.sh 8 "--threads 2" "--threads 2 --max-batch 1" "--threads 2 --admission-wait 0"
# (release binaries from Benchmarks/server_bench.sh: .build-srv-rel and Benchmarks/LoadGenerator/.build)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build-srv-rel/release
LOAD=Benchmarks/LoadGenerator/.build/release/seq2seq-load
DUR=$1
shift
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cut -f1 data/dates-heldout.tsv > "$work/dates.txt"
for flags in "$@"; do
  # shellcheck disable=SC2086
  $BIN/seq2seq-server --port 0 --max-queue 100000 --timeout 120 $flags > "$work/server.out" 2> "$work/server.err" &
  pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/server.out")
  r=$($LOAD --url "$url" --clients 64 --duration "$DUR" --warmup 2 --beam-size 1 --input "$work/dates.txt" | grep -E "throughput|latency|errors" | tr '\n' ' ')
  echo "[$flags] load $(cut -d' ' -f1 /proc/loadavg): $r"
  kill -TERM "$pid"
  wait "$pid" || true
done
