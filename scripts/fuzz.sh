#!/usr/bin/env bash
# Builds and runs one libFuzzer target (AddressSanitizer on) for SECONDS seconds:
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer arguments or files ...]
# TARGET: safetensors | config | vocabulary | requests | pickle (Fuzz/<Name>Fuzzer.swift).
# The target is compiled together with the library's sources into one module (swiftc -parse-as-library),
# in .build-fuzz/; pickle adds Seq2SeqConvert's sources (their `import Seq2Seq` lines are dropped from the
# snapshot, since it is all one module). Seeds are in Fuzz/corpus/TARGET (committed, small); what the fuzzer finds goes to
# .build-fuzz/corpus/TARGET, crashes to .build-fuzz/artifacts/TARGET/. SECONDS = 0 with files given
# replays those files once (e.g. a crash, or Tests/Fixtures/fuzz/TARGET/*).
# Runs under nice -n 19: this machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh safetensors|config|vocabulary|requests|pickle SECONDS [libFuzzer args or files...]" >&2
  exit 2
fi
target=$1 seconds=$2
shift 2
case "$target" in
  safetensors) name=SafeTensors ;;
  config) name=Config ;;
  vocabulary) name=Vocabulary ;;
  requests) name=Requests ;;
  pickle) name=Pickle ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
out=.build-fuzz
mkdir -p "$out/corpus/$target" "$out/artifacts/$target"
binary="$out/$target-fuzzer"
# Rebuild when any input is newer than the binary.
if [ ! -x "$binary" ] || [ -n "$(find Sources/Seq2Seq Sources/Seq2SeqConvert Fuzz -name '*.swift' -newer "$binary" | head -1)" ]; then
  echo "building $binary" >&2
  # Compile a snapshot, so that files being edited meanwhile cannot break the build half-way.
  rm -rf "$out/src" && mkdir -p "$out/src" && cp -R Sources/Seq2Seq Sources/Seq2SeqConvert Fuzz "$out/src/"
  sources=$(find "$out/src/Seq2Seq" -name '*.swift' | sort)
  if [ "$target" = pickle ]; then
    find "$out/src/Seq2SeqConvert" -name '*.swift' -exec sed -i '/^import Seq2Seq$/d' {} +
    sources="$sources $(find "$out/src/Seq2SeqConvert" -name '*.swift' | sort)"
  fi
  # shellcheck disable=SC2086
  nice -n 19 swiftc -sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -g \
    -use-ld=lld -module-name Seq2SeqFuzz -package-name Seq2Seq -I CSystemBLAS $(pkg-config --cflags openblas | sed 's/-I/-Xcc -I/g') \
    $sources "$out/src/Fuzz/FuzzSupport.swift" "$out/src/Fuzz/${name}Fuzzer.swift" \
    $(pkg-config --libs openblas) -o "$binary"
fi
# Deterministic dictionary order, so that a reproducer behaves the same in every run; one OpenBLAS
# thread (the targets run tiny models); no Swift backtracer, whose reading of a crashed process trips
# AddressSanitizer and hides the real report from libFuzzer.
export SWIFT_DETERMINISTIC_HASHING=1 OPENBLAS_NUM_THREADS=1 SWIFT_BACKTRACE=enable=no
dict=()
case "$target" in
  vocabulary) ;;
  pickle) dict=(-dict=Fuzz/pickle.dict) ;;
  *) dict=(-dict=Fuzz/json.dict) ;;
esac
if [ "$seconds" = 0 ]; then
  exec nice -n 19 "$binary" "${dict[@]}" -runs=0 "$@"
fi
exec nice -n 19 "$binary" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$out/artifacts/$target/" -print_final_stats=1 "$@" "$out/corpus/$target" "Fuzz/corpus/$target"
