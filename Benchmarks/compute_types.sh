#!/bin/bash
# The engine in every compute type and in batch-invariant mode, with the pre-kernel OpenBLAS product path as a
# control (SEQ2SEQ_PRODUCTS=openblas), two rounds alternating the configurations; JSON lines on stdout.
# Usage (from the package root, after `swift build -c release` and compare_pytorch.py has written the models):
#   Benchmarks/compute_types.sh [BINARY] [MODELS] > runs.jsonl && python3 Benchmarks/compute_types_table.py runs.jsonl
B=${1:-.build/release/seq2seq}; M=${2:-.build-bench/models}
for round in 1 2; do
  for m in b1 b2; do
    for cfg in "f32-openblas" "f32" "int8" "float16" "bfloat16" "f32-inv" "int8-inv"; do
      env=""; args=""
      case $cfg in
        f32-openblas) env="SEQ2SEQ_PRODUCTS=openblas";;
        f32) ;;
        int8) args="--compute-type int8";;
        float16) args="--compute-type float16";;
        bfloat16) args="--compute-type bfloat16";;
        f32-inv) args="--batch-invariant";;
        int8-inv) args="--compute-type int8 --batch-invariant";;
      esac
      env $env $B bench --model $M/$m --threads 2 --repeats 3 --json $args | sed "s/^{/{\"round\": $round, \"model\": \"$m\", \"cfg\": \"$cfg\", /"
    done
  done
done
