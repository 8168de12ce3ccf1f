#!/usr/bin/env bash
# The server's targets (README "Serving"), on loopback with the embedded date model:
#   1. offline CLI throughput, greedy, batches of 32, on the same sentences;
#   2. server saturation: closed loop, 64 clients, one sentence each (tokens/s vs 1.);
#   3. the same with --max-batch 1 (cross-request batching off);
#   4. one sentence alone (latency), then open loop at 50% of saturation (p99);
#   5. optional soak: SOAK=600 runs 10 minutes at 70% of saturation (errors, RSS growth).
# Usage: Benchmarks/server_bench.sh   (builds release binaries into .build-srv-rel and the load generator)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build-srv-rel/release
LOAD=Benchmarks/LoadGenerator/.build/release/seq2seq-load
THREADS=${THREADS:-2}
DUR=${DUR:-20}
[ -x $BIN/seq2seq-server ] || swift build -c release --scratch-path .build-srv-rel --product seq2seq-server
[ -x $BIN/seq2seq ] || swift build -c release --scratch-path .build-srv-rel --product seq2seq
[ -x $LOAD ] || (cd Benchmarks/LoadGenerator && swift build -c release)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# The sentences: the held-out dates (many formats and lengths).
cut -f1 data/dates-heldout.tsv > "$work/dates.txt"
python3 -c "
import json,sys
for l in open('$work/dates.txt'): print(json.dumps({'source': l.rstrip('\n')}))" > "$work/dates.jsonl"

echo "== 1. offline CLI, greedy, --batch-size 32, $(wc -l < "$work/dates.txt") sentences"
best=0
for r in 1 2 3; do
  s=$(date +%s.%N)
  $BIN/seq2seq translate --threads "$THREADS" --beam-size 1 --batch-size 32 --format jsonl --input "$work/dates.jsonl" > "$work/offline.jsonl"
  e=$(date +%s.%N)
  tps=$(python3 -c "
import json
n=sum(len(json.loads(l)['ids'])+1 for l in open('$work/offline.jsonl'))
print(round(n/($e-$s)))")
  echo "run $r: $tps tokens/s"
  [ "$tps" -gt "$best" ] && best=$tps
done
echo "offline best: $best tokens/s"

start_server() {  # $1 = max batch
  $BIN/seq2seq-server --port 0 --threads "$THREADS" --max-batch "$1" --max-queue 100000 --timeout 120 > "$work/server.out" 2> "$work/server.err" &
  pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/server.out")
}
stop_server() { kill -TERM "$pid"; wait "$pid" || true; }

echo "== 2. server, --max-batch 64, closed loop 64 clients x 1 sentence"
start_server 64
$LOAD --url "$url" --clients 64 --duration "$DUR" --warmup 3 --beam-size 1 --input "$work/dates.txt" | tee "$work/sat.txt"
sat_rps=$(sed -n 's/^throughput: \([0-9.]*\) req.*/\1/p' "$work/sat.txt")
echo "== 4. one sentence alone (1 client), then open loop at 50% of saturation ($sat_rps req/s)"
$LOAD --url "$url" --clients 1 --duration 10 --warmup 2 --beam-size 1 --input "$work/dates.txt"
half=$(python3 -c "print(round($sat_rps*0.5,1))")
$LOAD --url "$url" --rate "$half" --duration "$DUR" --warmup 3 --beam-size 1 --input "$work/dates.txt"
if [ -n "${SOAK:-}" ]; then
  seventy=$(python3 -c "print(round($sat_rps*0.7,1))")
  echo "== 5. soak: $SOAK s at 70% of saturation ($seventy req/s)"
  $LOAD --url "$url" --rate "$seventy" --duration "$SOAK" --warmup 30 --beam-size 1 --input "$work/dates.txt"
fi
stop_server

echo "== 3. server, --max-batch 1, closed loop 64 clients x 1 sentence"
start_server 1
$LOAD --url "$url" --clients 64 --duration "$DUR" --warmup 3 --beam-size 1 --input "$work/dates.txt"
stop_server
