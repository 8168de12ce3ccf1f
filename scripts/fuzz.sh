#!/usr/bin/env bash
# Builds and runs one libFuzzer target (AddressSanitizer on) for SECONDS seconds:
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer arguments or files ...]
# TARGET: safetensors | config | vocabulary | requests | pickle | converter (Fuzz/<Name>Fuzzer.swift; converter
# also Fuzz/ConverterShapeMutator.swift, its structure-aware mutator).
# The target is compiled together with the library's sources into one module (swiftc -parse-as-library),
# in .build-fuzz/; the C kernels (CSeq2SeqKernels) are compiled by clang beside it. pickle and converter add
# Seq2SeqConvert's and Seq2SeqText's sources (their `import Seq2Seq`/`import Seq2SeqText` lines are dropped from
# the snapshot, since it is all one module), the SentencePiece shim (clang++, linked with libsentencepiece) and
# Yams (its own module, built from the checkout SwiftPM resolved in .build or .build-helper). Seeds are in
# Fuzz/corpus/TARGET (committed, small); what the fuzzer finds goes to
# .build-fuzz/corpus/TARGET, crashes to .build-fuzz/artifacts/TARGET/. SECONDS = 0 with files given
# replays those files once (e.g. a crash, or Tests/Fixtures/fuzz/TARGET/*).
# Runs under nice -n 19: this machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh safetensors|config|vocabulary|requests|pickle|converter SECONDS [libFuzzer args or files...]" >&2
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
  converter) name=Converter ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
out=.build-fuzz
mkdir -p "$out/corpus/$target" "$out/artifacts/$target"
binary="$out/$target-fuzzer"
# Rebuild when any input is newer than the snapshot the binary was built from (its stamp is touched when the
# snapshot is taken and kept once the build succeeds, so a file edited during a build makes the next run rebuild).
stamp="$binary.snapshot"
if [ ! -x "$binary" ] || [ ! -e "$stamp" ] || [ -n "$(find Sources/Seq2Seq Sources/Seq2SeqConvert Sources/Seq2SeqText Sources/CSeq2SeqKernels Sources/CSentencePieceShim Fuzz \
    -newer "$stamp" \( -name '*.swift' -o -name '*.c' -o -name '*.h' -o -name '*.cpp' \) | head -1)" ]; then
  echo "building $binary" >&2
  # Compile a snapshot, so that files being edited meanwhile cannot break the build half-way.
  touch "$stamp.new"
  rm -rf "$out/src" "$out/obj" && mkdir -p "$out/src" "$out/obj"
  cp -R Sources/Seq2Seq Sources/Seq2SeqConvert Sources/Seq2SeqText Sources/CSeq2SeqKernels Sources/CSentencePieceShim Fuzz "$out/src/"
  src=$PWD/$out/src obj=$out/obj
  # The C kernels: instrumented like the Swift code (coverage and AddressSanitizer), imported through a module map.
  for c in "$src"/CSeq2SeqKernels/*.c; do
    nice -n 19 clang -c -O2 -g -D_GNU_SOURCE -fsanitize=address,fuzzer-no-link -I "$src/CSeq2SeqKernels/include" "$c" -o "$obj/kernels-$(basename "$c" .c).o"
  done
  printf 'module CSeq2SeqKernels {\n  umbrella header "%s"\n  export *\n}\n' "$src/CSeq2SeqKernels/include/seq2seq_kernels.h" \
    > "$src/CSeq2SeqKernels/include/module.modulemap"
  sources=$(find "$src/Seq2Seq" -name '*.swift' | sort)
  flags=(-I "$src/CSeq2SeqKernels/include")
  libs=(-lm)
  # The converter target's structure-aware mutator (LLVMFuzzerCustomMutator), compiled with that target only.
  extra=()
  [ "$target" = converter ] && extra=("$src/Fuzz/ConverterShapeMutator.swift")
  if [ "$target" = pickle ] || [ "$target" = converter ]; then
    find "$src/Seq2SeqConvert" "$src/Seq2SeqText" -name '*.swift' -exec sed -i -e '/^import Seq2Seq$/d' -e '/^import Seq2SeqText$/d' {} +
    sources="$sources $(find "$src/Seq2SeqConvert" "$src/Seq2SeqText" -name '*.swift' | sort)"
    # The SentencePiece shim (C++ behind a C header).
    nice -n 19 clang++ -c -O2 -g -std=c++17 -fsanitize=address,fuzzer-no-link -I "$src/CSentencePieceShim/include" \
      $(pkg-config --cflags sentencepiece) "$src/CSentencePieceShim/seq2seq_sentencepiece.cpp" -o "$obj/sentencepiece-shim.o"
    printf 'module CSentencePieceShim {\n  header "%s"\n  export *\n}\n' "$src/CSentencePieceShim/include/seq2seq_sentencepiece.h" \
      > "$src/CSentencePieceShim/include/module.modulemap"
    # Yams and its libyaml (AddressSanitizer, no coverage: the YAML files the converters read are fixed).
    yams=""
    for d in .build/checkouts/Yams .build-helper/checkouts/Yams; do [ -d "$d/Sources/Yams" ] && yams=$PWD/$d && break; done
    [ -n "$yams" ] || { echo "no Yams checkout in .build or .build-helper: run swift package resolve first" >&2; exit 1; }
    for c in "$yams"/Sources/CYaml/src/*.c; do
      nice -n 19 clang -c -O2 -g -DYAML_DECLARE_STATIC -fsanitize=address -I "$yams/Sources/CYaml/include" "$c" -o "$obj/cyaml-$(basename "$c" .c).o"
    done
    mkdir -p "$obj/modules"
    # shellcheck disable=SC2046
    nice -n 19 swiftc -wmo -parse-as-library -O -g -sanitize=address -module-name Yams -DSWIFT_PACKAGE -Xcc -DYAML_DECLARE_STATIC \
      -I "$yams/Sources/CYaml/include" -emit-module -emit-module-path "$obj/modules/Yams.swiftmodule" \
      -c $(find "$yams/Sources/Yams" -name '*.swift' | sort) -o "$obj/yams.o"
    flags+=(-I "$src/CSentencePieceShim/include" -I "$obj/modules" -I "$yams/Sources/CYaml/include" -Xcc -DYAML_DECLARE_STATIC)
    # shellcheck disable=SC2207
    libs+=($(pkg-config --libs sentencepiece) -lstdc++)
  fi
  # shellcheck disable=SC2086
  nice -n 19 swiftc -sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -g \
    -use-ld=lld -module-name Seq2SeqFuzz -package-name Seq2Seq -I CSystemBLAS $(pkg-config --cflags openblas | sed 's/-I/-Xcc -I/g') \
    "${flags[@]}" $sources "$src/Fuzz/FuzzSupport.swift" "$src/Fuzz/${name}Fuzzer.swift" ${extra[@]+"${extra[@]}"} "$obj"/*.o \
    $(pkg-config --libs openblas) "${libs[@]}" -o "$binary"
  mv "$stamp.new" "$stamp"
fi
# Deterministic dictionary order, so that a reproducer behaves the same in every run; one OpenBLAS
# thread (the targets run tiny models); no Swift backtracer, whose reading of a crashed process trips
# AddressSanitizer and hides the real report from libFuzzer.
export SWIFT_DETERMINISTIC_HASHING=1 OPENBLAS_NUM_THREADS=1 SWIFT_BACKTRACE=enable=no
dict=()
case "$target" in
  vocabulary) ;;
  pickle|converter) dict=(-dict=Fuzz/pickle.dict) ;;
  *) dict=(-dict=Fuzz/json.dict) ;;
esac
if [ "$seconds" = 0 ]; then
  exec nice -n 19 "$binary" "${dict[@]}" -runs=0 "$@"
fi
exec nice -n 19 "$binary" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$out/artifacts/$target/" -print_final_stats=1 "$@" "$out/corpus/$target" "Fuzz/corpus/$target"
