#!/usr/bin/env bash
# The server's targets (README "Serving"), on loopback with the embedded date model. Configurations are
# alternated within the run (the machine is shared: compare numbers from one run only):
#   1. offline CLI, greedy, on the same sentences: --batch-size 32 and --batch-size 1, in the batch-invariant
#      mode the server uses (and, for reference, batch 32 without it): the batch-32/batch-1 ratio bounds the
#      batching gain any server can show;
#   2. server saturation, closed loop, 64 clients x one sentence: --max-batch 64 vs --max-batch 1, alternated;
#   3. the machine's own tail (Benchmarks/jitter: a fixed 0.4 ms burst of work after 2 ms asleep, no server),
#      one sentence alone (latency), then open loop at 50% of saturation (p99);
#   4. optional soak: SOAK=600 runs 10 minutes at 70% of saturation (errors, RSS growth).
# Usage: Benchmarks/server_bench.sh   (DUR seconds per closed-loop run, ROUNDS alternations, SERVER_FLAGS extra
#        seq2seq-server flags; builds release binaries into .build-srv-rel and the load generator)
#        MODEL=DIR Benchmarks/server_bench.sh   the same on a model directory (e.g. B1, written by
#        Benchmarks/peers/torch_peer.py make --config b1) with random source ids of LENGTHS tokens (default
#        8,16,32) and exactly TARGET generated tokens (default 32), offline and through the server alike.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build-srv-rel/release
LOAD=Benchmarks/LoadGenerator/.build/release/seq2seq-load
THREADS=${THREADS:-2}
DUR=${DUR:-15}
ROUNDS=${ROUNDS:-2}
SERVER_FLAGS=${SERVER_FLAGS:-}
# Always built (incremental): a stale binary would measure old code.
swift build -c release --scratch-path .build-srv-rel --product seq2seq-server
swift build -c release --scratch-path .build-srv-rel --product seq2seq
[ -x $LOAD ] || (cd Benchmarks/LoadGenerator && swift build -c release)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
MODEL=${MODEL:-}
LENGTHS=${LENGTHS:-8,16,32}
TARGET=${TARGET:-32}
if [ -z "$MODEL" ]; then
  # The sentences: the held-out dates (many formats and lengths).
  cut -f1 data/dates-heldout.tsv > "$work/dates.txt"
  python3 -c "
import json,sys
for l in open('$work/dates.txt'): print(json.dumps({'source': l.rstrip('\n')}))" > "$work/dates.jsonl"
  MODEL_FLAGS=()
  OFFLINE_FLAGS=()
  LOAD_INPUT=(--input "$work/dates.txt")
else
  # Random source ids, lengths drawn from LENGTHS, as the load generator draws them; TARGET tokens each.
  vocab=$(python3 -c "import json; print(json.load(open('$MODEL/config.json'))['source_vocab_size'])")
  python3 -c "
import json, random
r = random.Random(7); lengths = [int(x) for x in '$LENGTHS'.split(',')]
for _ in range(1000): print(json.dumps({'source_ids': [r.randrange(4, $vocab) for _ in range(r.choice(lengths))]}))" > "$work/dates.jsonl"
  MODEL_FLAGS=(--model "$MODEL")
  OFFLINE_FLAGS=(--min-length "$TARGET" --max-length "$TARGET")
  LOAD_INPUT=(--id-lengths "$LENGTHS" --source-vocab "$vocab" --fixed-length "$TARGET")
fi
echo "model: ${MODEL:-the embedded date model}, $(wc -l < "$work/dates.jsonl") sentences offline"

offline() {  # $1 = batch size, $2 = --batch-invariant or --no-batch-invariant
  local s e
  s=$(date +%s.%N)
  $BIN/seq2seq translate "${MODEL_FLAGS[@]}" --threads "$THREADS" --beam-size 1 --batch-size "$1" "$2" "${OFFLINE_FLAGS[@]}" \
    --format jsonl --input "$work/dates.jsonl" > "$work/offline.jsonl"
  e=$(date +%s.%N)
  python3 -c "
import json
n=sum(len(json.loads(l)['ids'])+1 for l in open('$work/offline.jsonl'))
print(round(n/($e-$s)))"
}
echo "== 1. offline CLI, greedy, $(wc -l < "$work/dates.jsonl") sentences (tokens/s, eos included)"
for r in $(seq 1 $((ROUNDS + 1))); do
  echo "round $r: batch 32 invariant $(offline 32 --batch-invariant), batch 1 invariant $(offline 1 --batch-invariant), batch 32 default $(offline 32 --no-batch-invariant)"
done

start_server() {  # $1 = max batch
  # shellcheck disable=SC2086
  $BIN/seq2seq-server "${MODEL_FLAGS[@]}" --port 0 --threads "$THREADS" --max-batch "$1" --max-queue 100000 --timeout 120 $SERVER_FLAGS > "$work/server.out" 2> "$work/server.err" &
  pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/server.out")
}
stop_server() { kill -TERM "$pid"; wait "$pid" || true; }

echo "== 2. server saturation, closed loop 64 clients x 1 sentence: --max-batch 64 vs --max-batch 1 ($SERVER_FLAGS)"
for r in $(seq 1 "$ROUNDS"); do
  for mb in 64 1; do
    start_server $mb
    echo "-- round $r, --max-batch $mb (load $(cut -d' ' -f1 /proc/loadavg))"
    $LOAD --url "$url" --clients 64 --duration "$DUR" --warmup 3 --beam-size 1 "${LOAD_INPUT[@]}" | tee "$work/sat-$mb.txt"
    stop_server
  done
done
sat_rps=$(sed -n 's/^throughput: \([0-9.]*\) req.*/\1/p' "$work/sat-64.txt")

echo "== 3. the machine's own tail (no server: Benchmarks/jitter/jitter.c), then the server"
cc -O2 -o "$work/jitter" Benchmarks/jitter/jitter.c && "$work/jitter" 8
start_server 64
echo "-- one sentence alone (1 client), then open loop at 50% of saturation ($sat_rps req/s)"
$LOAD --url "$url" --clients 1 --duration 10 --warmup 2 --beam-size 1 "${LOAD_INPUT[@]}"
half=$(python3 -c "print(round($sat_rps*0.5,1))")
$LOAD --url "$url" --rate "$half" --duration "$DUR" --warmup 3 --beam-size 1 "${LOAD_INPUT[@]}"
if [ -n "${SOAK:-}" ]; then
  seventy=$(python3 -c "print(round($sat_rps*0.7,1))")
  echo "== 4. soak: $SOAK s at 70% of saturation ($seventy req/s)"
  $LOAD --url "$url" --rate "$seventy" --duration "$SOAK" --warmup 30 --beam-size 1 "${LOAD_INPUT[@]}"
fi
stop_server
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
