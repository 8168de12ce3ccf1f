#!/usr/bin/env bash
# Regenerate every toolkit parity fixture in Tests/Fixtures/toolkits (see README.md here).
#
#   tools/toolkits/train_all.sh [MODEL ...]     (default: all models)
#
# Sets up the venvs under $VENVS (default /work/venvs) when they are missing:
#   onmt     Python 3.11: OpenNMT-py 3.5.1, numpy<2 (pulls torch 2.2.2)
#   joey     Python 3.11: joeynmt 2.3.0, importlib_metadata, torch 2.2.2, numpy<2, sentencepiece 0.1.99
#   fairseq  Python 3.10: fairseq 0.12.2 built from its v0.12.2 source tree ($FAIRSEQ_SRC,
#            default $WORK/fairseq-src; a `git archive v0.12.2` of facebookresearch/fairseq)
#            with pip<24.1, wheel, setuptools<70, cython, numpy<2, torch/torchaudio 2.2.2,
#            --no-build-isolation
# The tutorial model runs in the onmt venv (any torch works).
# Scratch data go to $WORK (default /work/toolkits). Everything runs on the CPU.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export VENVS=${VENVS:-/work/venvs}
export WORK=${WORK:-/work/toolkits}
export CORPUS=${CORPUS:-$WORK/corpus}
export FIXTURES=${FIXTURES:-$REPO/Tests/Fixtures/toolkits}
FAIRSEQ_SRC=${FAIRSEQ_SRC:-$WORK/fairseq-src}
PY311=${PY311:-python3.11}
PY310=${PY310:-$(command -v python3.10 || echo /root/.pyenv/versions/3.10.13/bin/python)}
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(onmt_brnn_lstm_general onmt_gru_mlp_bridge onmt_lstm_dot_nofeed_shared
                                  joey_lstm_luong joey_gru_bahdanau_nofeed fairseq_bilstm_proj tutorial_attn joey_spm)
mkdir -p "$VENVS" "$WORK" "$FIXTURES"

need() { for m in "${MODELS[@]}"; do case $m in $1*) return 0 ;; esac; done; return 1; }

if need onmt || need tutorial; then
  if [ ! -x "$VENVS/onmt/bin/onmt_train" ]; then
    "$PY311" -m venv "$VENVS/onmt"
    "$VENVS/onmt/bin/pip" install "OpenNMT-py==3.5.1" "numpy<2"
  fi
fi
if need joey && ! "$VENVS/joey/bin/python" -c "import joeynmt" 2>/dev/null; then
  "$PY311" -m venv "$VENVS/joey"
  "$VENVS/joey/bin/pip" install joeynmt==2.3.0 importlib_metadata torch==2.2.2 "numpy<2" sentencepiece==0.1.99
fi
if need fairseq && [ ! -x "$VENVS/fairseq/bin/fairseq-train" ]; then
  [ -f "$FAIRSEQ_SRC/fairseq/clib/libbase/balanced_assignment.cpp" ] || {
    echo "fairseq: need the v0.12.2 source tree in \$FAIRSEQ_SRC ($FAIRSEQ_SRC); the PyPI sdist lacks" \
         "fairseq/clib/libbase/balanced_assignment.cpp (see README.md)" >&2; exit 1; }
  "$PY310" -m venv "$VENVS/fairseq"
  "$VENVS/fairseq/bin/pip" install "pip<24.1"
  "$VENVS/fairseq/bin/pip" install wheel "setuptools<70" cython "numpy<2" torch==2.2.2 torchaudio==2.2.2
  (cd "$FAIRSEQ_SRC" && "$VENVS/fairseq/bin/pip" install --no-build-isolation .)
fi

# The PyTorch tutorial model (tutorial.py trains, saves model.pt and runs evaluate).
train_tutorial() {
  local PY=$VENVS/onmt/bin/python OUT=$FIXTURES/tutorial_attn D=$WORK/tutorial_attn
  rm -rf "$D" "$OUT" && mkdir -p "$D" "$OUT"
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} nice -n 10 "$PY" "$HERE/tutorial.py" --corpus "$CORPUS" --out "$OUT" \
    --epochs "${TUTORIAL_EPOCHS:-15}" > "$D/train.log" 2>&1
  cp "$CORPUS/test_tutorial.tgt" "$OUT/reference.tgt"
  "$PY" "$HERE/fixture_tools.py" check_lines "$OUT/test.src" "$OUT/toolkit.out"
  "$PY" "$HERE/fixture_tools.py" tensors "$OUT/model.pt" "$OUT/tensors.txt"
  local ACC TORCH INFO
  ACC=$("$PY" "$HERE/fixture_tools.py" accuracy "$OUT/toolkit.out" "$OUT/reference.tgt")
  TORCH=$("$PY" -c 'import torch; print(torch.__version__)')
  INFO=$(cat "$OUT/.train_info.json"); rm "$OUT/.train_info.json"
  "$PY" "$HERE/fixture_tools.py" meta "$OUT/meta.json" \
    toolkit="PyTorch tutorial seq2seq_translation_tutorial (post-2023, BahdanauAttention)" version="pytorch/tutorials after PR #2468" \
    torch="$TORCH" model=tutorial_attn checkpoint=model.pt "training=$INFO" \
    'translate_command="tools/toolkits/tutorial.py: encoder.eval(); decoder.eval(); for each line of test.src: evaluate(encoder, decoder, line, input_lang, output_lang), drop the final <EOS> marker, join the words with one space"' \
    'save_recipe="torch.save({\"encoder\": encoder.state_dict(), \"decoder\": decoder.state_dict(), \"source_vocab\": [input_lang.index2word[i] for i in range(input_lang.n_words)], \"target_vocab\": [output_lang.index2word[i] for i in range(output_lang.n_words)]}, \"model.pt\")"' \
    beam_size=1 max_length=20 MAX_LENGTH=20 min_length=0 batch_size=1 \
    'scores_format="toolkit.scores: per line, the log_softmax value (natural log) of every id evaluate emitted, up to and including EOS (no EOS if the line hit MAX_LENGTH), space separated, 6 decimals"' \
    "test_lines=$(wc -l < "$OUT/test.src")" "exact_match_vs_reference=\"$ACC\"" \
    'notes=["vocab: model.pt source_vocab / target_vocab (id -> word); SOS=0, EOS=1, then words in order of first appearance in the training pairs; no <pad>, no <unk> (an unknown word is a KeyError in the tutorial; test.src has none)", "source: sentence.split(\" \") + EOS (1); text is already normalizeString-normalized (lowercase ASCII letters and single spaces)", "decoder: hidden = encoder final hidden (copy), first input SOS (0); each step query = previous hidden, Bahdanau score Va(tanh(Wa q + Ua k)) with biases, no mask, GRU input [embedded; context], out Linear with bias", "greedy: always MAX_LENGTH (20) steps feeding topk(1) of the raw logits; reported ids = topk(1) of log_softmax; cut at the first EOS; SOS is not suppressed (an emitted SOS would print as the word SOS)", "dropout modules exist (p = 0.1) and are no-ops after .eval()", "training: MAX_LENGTH-wide target rows padded with 0 (= SOS) and NLLLoss over every position, as in the tutorial"]'
  echo "tutorial_attn: $INFO, $(du -k "$OUT/model.pt" | cut -f1) KiB, exact match $ACC"
}

python3 "$HERE/make_corpus.py" "$CORPUS"

for m in "${MODELS[@]}"; do
  case $m in
    onmt_*) "$HERE/train_opennmt.sh" "$m" ;;
    joey_*) "$HERE/train_joeynmt.sh" "$m" ;;
    fairseq_*) "$HERE/train_fairseq.sh" "$m" ;;
    tutorial_attn) train_tutorial ;;
    *) echo "unknown model $m" >&2; exit 2 ;;
  esac
done
du -sh "$FIXTURES"
