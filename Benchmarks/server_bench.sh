#!/usr/bin/env bash
# The server's targets (README "Serving"), on loopback with the embedded date model. Configurations are
# alternated within the run (the machine is shared: compare numbers from one run only):
#   1. offline CLI, greedy, on the same sentences: --batch-size 32 and --batch-size 1, in the batch-invariant
#      mode the server uses (and, for reference, batch 32 without it): the batch-32/batch-1 ratio bounds the
#      batching gain any server can show;
#   2. server saturation, closed loop, 64 clients x one sentence: --max-batch 64 vs --max-batch 1, alternated,
#      and 256 clients at --max-batch 64 (saturation: the larger);
#   3. the machine's own tail (Benchmarks/jitter: a fixed 0.4 ms burst of work after 2 ms asleep, no server),
#      one sentence alone (latency), then open loop at 50% of saturation (p99);
#   4. optional soak: SOAK=600 runs 10 minutes at 70% of saturation (errors, RSS growth).
# The load comes from Benchmarks/rawload (C, epoll: the requests are the offline sentences, one each, so that the
# generator takes almost none of the 2 cores); LOADGEN=swift uses seq2seq-load (async-http-client) instead.
# Usage: Benchmarks/server_bench.sh   (DUR seconds per closed-loop run, ROUNDS alternations, SERVER_FLAGS extra
#        seq2seq-server flags, LOADGEN rawload or swift; builds release binaries into .build-srv-rel)
#        MODEL=DIR Benchmarks/server_bench.sh   the same on a model directory (e.g. B1, written by
#        Benchmarks/peers/torch_peer.py make --config b1) with random source ids of LENGTHS tokens (default
#        8,16,32) and exactly TARGET generated tokens (default 32), offline and through the server alike.
set -euo pipefail
cd "$(dirname "$0")/.."
# A C compiler for the generator (and the jitter probe): cc, or the clang that comes with Swift.
CC=${CC:-$(command -v cc || command -v clang)}
BIN=.build-srv-rel/release
LOAD=Benchmarks/LoadGenerator/.build/release/seq2seq-load
THREADS=${THREADS:-2}
DUR=${DUR:-15}
ROUNDS=${ROUNDS:-2}
SERVER_FLAGS=${SERVER_FLAGS:-}
# Always built (incremental): a stale binary would measure old code.
swift build -c release --scratch-path .build-srv-rel --product seq2seq-server
swift build -c release --scratch-path .build-srv-rel --product seq2seq
[ "${LOADGEN:-rawload}" = rawload ] || [ -x $LOAD ] || (cd Benchmarks/LoadGenerator && swift build -c release)
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

# The requests: the offline sentences, one per request, in the same order (each generator cycles through them).
python3 -c "
import json, sys
extra = {'min_length': $TARGET, 'max_length': $TARGET} if '$MODEL' else {}
for l in open('$work/dates.jsonl'):
    d = json.loads(l)
    body = {'text': [d['source']]} if 'source' in d else {'source_ids': [d['source_ids']]}
    body['beam_size'] = 1; body.update(extra)
    print(json.dumps(body))" > "$work/bodies.txt"
# load ARGS...: one run of the load generator, one summary line. LOADGEN=rawload (default: Benchmarks/rawload, C,
# epoll, a few microseconds of CPU per request, so the server has the machine) or LOADGEN=swift (seq2seq-load on
# async-http-client: about 150 us per request, a sixth to a quarter of the 2 cores at the date model's saturation).
load() {
  if [ "${LOADGEN:-rawload}" = rawload ]; then
    "$work/rawload" --port "${url##*:}" --bodies "$work/bodies.txt" --server-pid "$pid" "$@" > "$work/load.json"
  else
    local a=()
    while [ $# -gt 0 ]; do
      case $1 in --clients|--rate|--duration|--warmup) a+=("$1" "$2"); shift 2;; *) shift;; esac
    done
    $LOAD --url "$url" --json --beam-size 1 "${a[@]}" "${LOAD_INPUT[@]}" > "$work/load.json"
  fi
  python3 -c "
import json
d = json.load(open('$work/load.json'))
line = '%s: %.1f req/s, %.0f tokens/s, latency ms p50 %.2f p90 %.2f p99 %.2f max %.1f, errors %s' % (d['mode'], d['requests_per_s'],
       d['tokens_per_s'], d['p50_ms'], d['p90_ms'], d['p99_ms'], d['max_ms'], d['errors'] or 'none')
if 'client_cpu_s' in d:
    line += ', CPU-seconds: generator %.2f, server %.2f of %.0f' % (d['client_cpu_s'], d['server_cpu_s'], 2 * d['wall_s'])
if d.get('rss_after_warmup_kb', d.get('rss_after_warmup', -1)) > 0:
    a = d.get('rss_after_warmup_kb', d.get('rss_after_warmup', 0) / 1000); e = d.get('rss_end_kb', d.get('rss_end', 0) / 1000)
    line += ', server RSS after warm-up %.1f MB, end %.1f MB (%+.2f%%)' % (a / 1000, e / 1000, (e - a) * 100 / a)
if 'steal_percent' in d:
    line += ', CPU stolen by the hypervisor %.1f%%' % d['steal_percent']
print(line)"
}
"$CC" -O2 -o "$work/rawload" Benchmarks/rawload/rawload.c
rps() { python3 -c "import json; print(json.load(open('$work/load.json'))['requests_per_s'])"; }  # the last run's req/s

echo "== 2. server saturation, closed loop 64 clients x 1 sentence: --max-batch 64 vs --max-batch 1, then 256 clients"
echo "   at --max-batch 64 (64 clients leave the session short of rows while answers travel: saturation is the"
echo "   larger of the two) (${LOADGEN:-rawload} $SERVER_FLAGS)"
for r in $(seq 1 "$ROUNDS"); do
  for mb in 64 1; do
    start_server $mb
    echo "-- round $r, --max-batch $mb (load $(cut -d' ' -f1 /proc/loadavg))"
    load --clients 64 --duration "$DUR" --warmup 3
    rps > "$work/sat-$mb.txt"
    if [ "$mb" = 64 ]; then
      load --clients 256 --duration "$DUR" --warmup 3
      rps > "$work/sat-256.txt"
    fi
    stop_server
  done
done
sat_rps=$(python3 -c "print(max(float(open('$work/sat-64.txt').read()), float(open('$work/sat-256.txt').read())))")
echo "saturation: $sat_rps req/s"

echo "== 3. the machine's own tail (no server: Benchmarks/jitter/jitter.c), then the server"
"$CC" -O2 -o "$work/jitter" Benchmarks/jitter/jitter.c && "$work/jitter" 8
start_server 64
echo "-- one sentence alone (1 client), then open loop at 50% of saturation ($sat_rps req/s)"
load --clients 1 --duration 10 --warmup 2
half=$(python3 -c "print(round($sat_rps*0.5,1))")
load --rate "$half" --duration "$DUR" --warmup 3
if [ -n "${SOAK:-}" ]; then
  seventy=$(python3 -c "print(round($sat_rps*0.7,1))")
  echo "== 4. soak: $SOAK s at 70% of saturation ($seventy req/s)"
  load --rate "$seventy" --duration "$SOAK" --warmup 30
fi
stop_server
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
