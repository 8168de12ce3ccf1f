#!/usr/bin/env bash
# The main job on the embedded model: normalize dates written in many ways to ISO 8601.
#   scripts/demo.sh                       translates a few examples and shows where the model looked
#   scripts/demo.sh "nov 24 2026" ...     translates your own
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product seq2seq >&2
bin=.build/release/seq2seq
if [ $# -gt 0 ]; then
  exec "$bin" translate "$@"
fi
"$bin" translate "Tuesday, 24 November 2026" "24/11/2026" "nov 24 2026" "24.11.26" "2026 11 24" "the 24th of November, 2026"
