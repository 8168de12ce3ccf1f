#!/usr/bin/env bash
# The test command: unit, golden, parity and CLI tests, then the golden cases through the command line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build --skip Seq2SeqServerTests 2>&1 | tee .build/swift-test.log
# The server's suites on their own (a plain `swift test` passes too): the in-process server's handlers run on
# the cooperative pool (two threads on a 2-core machine), which the other suites' long synchronous sweeps would
# otherwise hold for minutes.
swift test --skip-build --filter Seq2SeqServerTests 2>&1 | tee -a .build/swift-test.log
# The golden cases through the real command line (needs python3, standard library only).
if command -v python3 >/dev/null; then
  python3 scripts/check_fixtures.py Tests/Fixtures/golden --cli .build/debug/seq2seq
  if [ -d ../shared/fixtures ]; then
    python3 ../shared/fixtures/check.py ../shared/fixtures --cli .build/debug/seq2seq
  elif [ "${CI:-}" = "true" ]; then
    echo "CI=true but ../shared/fixtures is missing" >&2
    exit 1
  fi
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but python3 is missing" >&2
  exit 1
fi
