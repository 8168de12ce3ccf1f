#!/usr/bin/env bash
# Resident memory after a spell of overload, with and without --trim-interval (alternated, ROUNDS times): the
# server at a steady 250 req/s for 5 s, then 10 s at 900 req/s (above B1's saturation on 2 cores: a backlog of
# thousands of requests in flight), then 25 s at 250 req/s again; RSS from /proc at each stage's end.
# Usage: MODEL=.build-bench/models/b1 Benchmarks/server_memory.sh   (needs the release server in .build-srv-rel,
#        e.g. from Benchmarks/server_bench.sh; BASE, OVER req/s and ROUNDS may be set)
set -euo pipefail
cd "$(dirname "$0")/.."
# A C compiler for the generator (and the jitter probe): cc, or the clang that comes with Swift.
CC=${CC:-$(command -v cc || command -v clang)}
MODEL=${MODEL:?set MODEL to a model directory, e.g. .build-bench/models/b1}
BASE=${BASE:-250}
OVER=${OVER:-900}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$CC" -O2 -o "$work/rawload" Benchmarks/rawload/rawload.c
vocab=$(python3 -c "import json; print(json.load(open('$MODEL/config.json'))['source_vocab_size'])")
python3 -c "
import json, random
r = random.Random(7)
for _ in range(1000):
    ids = [r.randrange(4, $vocab) for _ in range(r.choice([8, 16, 32]))]
    print(json.dumps({'source_ids': [ids], 'beam_size': 1, 'min_length': 32, 'max_length': 32}))" > "$work/bodies.txt"
for r in $(seq 1 "${ROUNDS:-2}"); do
  for t in 0 10; do
    .build-srv-rel/release/seq2seq-server --model "$MODEL" --port 0 --threads 2 --max-queue 100000 --timeout 120 \
      --trim-interval $t > "$work/out" 2> "$work/err" &
    pid=$!
    for _ in $(seq 1 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$work/out")
    run() { "$work/rawload" --port "$port" --bodies "$work/bodies.txt" --server-pid $pid "$@"; }
    b=$(run --rate "$BASE" --duration 5 --warmup 5)
    o=$(run --rate "$OVER" --duration 10 --warmup 0)
    e=$(run --rate "$BASE" --duration 25 --warmup 0)
    kill -TERM $pid; wait $pid || true
    python3 -c "
import json, sys
b, o, e = [json.loads(x) for x in sys.argv[1:4]]
print('round $r, --trim-interval $t: RSS %.1f MB at $BASE req/s (p99 %.0f ms); overload %.1f MB at most (p99 %.0f ms); %.1f MB after 25 s at $BASE req/s again (%+.1f%%)' % (
    b['rss_end_kb'] / 1000, b['p99_ms'], o['rss_max_kb'] / 1000, o['p99_ms'], e['rss_end_kb'] / 1000,
    (e['rss_end_kb'] - b['rss_end_kb']) * 100 / b['rss_end_kb']))" "$b" "$o" "$e"
  done
done
