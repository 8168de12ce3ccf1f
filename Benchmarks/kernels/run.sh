#!/usr/bin/env bash
# Compiles Benchmarks/kernels/kernel_bench.c with the engine's C kernels (Sources/CSeq2SeqKernels, -O2 as a
# release build) and runs it: one thread, each instruction set the CPU has, side by side in one process.
# Usage: Benchmarks/kernels/run.sh [CLANG]
set -euo pipefail
cd "$(dirname "$0")/../.."
CLANG=${1:-$(command -v clang || echo /opt/swift/usr/bin/clang)}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$CLANG" -O2 -ISources/CSeq2SeqKernels/include -ISources/CSeq2SeqKernels Benchmarks/kernels/kernel_bench.c \
  Sources/CSeq2SeqKernels/*.c -lm -lpthread -o "$out/kernel_bench"
"$out/kernel_bench"
