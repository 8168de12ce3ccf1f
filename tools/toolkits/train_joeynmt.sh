#!/usr/bin/env bash
# Train one tiny JoeyNMT 2.3.0 recurrent model on the synthetic corpus and record what
# `python -m joeynmt translate` prints (greedy, batch size 1) into Tests/Fixtures/toolkits/NAME.
#
#   tools/toolkits/train_joeynmt.sh NAME      NAME in: joey_lstm_luong, joey_gru_bahdanau_nofeed, joey_spm
# joey_spm uses the raw-text corpus ($CORPUS/raw) with SentencePiece models on both sides
# (trained here with the sentencepiece package of the joey venv) and translates raw text.
# Env: VENVS (/work/venvs), WORK (/work/toolkits), CORPUS ($WORK/corpus),
#      EPOCHS (default per model), FIXTURES (repo Tests/Fixtures/toolkits)
set -euo pipefail
NAME=$1
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VENVS=${VENVS:-/work/venvs}
WORK=${WORK:-/work/toolkits}
CORPUS=${CORPUS:-$WORK/corpus}
FIXTURES=${FIXTURES:-$REPO/Tests/Fixtures/toolkits}
PY=$VENVS/joey/bin/python
D=$WORK/$NAME
OUT=$FIXTURES/$NAME
if [ -z "${SKIP_TRAIN:-}" ]; then rm -rf "$D" "$OUT"; fi   # SKIP_TRAIN=1: reuse $D's model, redo only the recording
mkdir -p "$D" "$OUT"

case $NAME in
  joey_lstm_luong)
    # encoder hidden = decoder hidden (He = H) as in the spec, but 48 instead of 64:
    # with 64 the checkpoint (weights + Adam state) is about 3 MB, over the 2 MB budget.
    MODEL="  encoder:
    type: recurrent
    rnn_type: lstm
    embeddings: {embedding_dim: 32}
    hidden_size: 48
    bidirectional: true
    num_layers: 2
    dropout: 0.1
  decoder:
    type: recurrent
    rnn_type: lstm
    embeddings: {embedding_dim: 32}
    hidden_size: 48
    num_layers: 2
    dropout: 0.1
    hidden_dropout: 0.1
    attention: luong
    input_feeding: true
    init_hidden: bridge"
    EPOCHS=${EPOCHS:-8} ;;
  joey_gru_bahdanau_nofeed)
    MODEL="  encoder:
    type: recurrent
    rnn_type: gru
    embeddings: {embedding_dim: 32, scale: true}
    hidden_size: 32
    bidirectional: true
    num_layers: 2
    dropout: 0.1
  decoder:
    type: recurrent
    rnn_type: gru
    embeddings: {embedding_dim: 32, scale: true}
    hidden_size: 48
    num_layers: 2
    dropout: 0.1
    hidden_dropout: 0.1
    attention: bahdanau
    input_feeding: false
    init_hidden: bridge"
    EPOCHS=${EPOCHS:-8} ;;
  joey_spm)
    MODEL="  encoder:
    type: recurrent
    rnn_type: gru
    embeddings: {embedding_dim: 32}
    hidden_size: 32
    bidirectional: true
    num_layers: 1
    dropout: 0.1
  decoder:
    type: recurrent
    rnn_type: gru
    embeddings: {embedding_dim: 32}
    hidden_size: 64
    num_layers: 1
    dropout: 0.1
    hidden_dropout: 0.1
    attention: luong
    input_feeding: true
    init_hidden: bridge"
    EPOCHS=${EPOCHS:-10} ;;
  *) echo "unknown model $NAME" >&2; exit 2 ;;
esac

DATA=$CORPUS
SRC_CFG="{lang: src, level: word, lowercase: false, voc_limit: 100, voc_min_freq: 1}"
TRG_CFG="{lang: trg, level: word, lowercase: false, voc_limit: 100, voc_min_freq: 1}"
if [ "$NAME" = joey_spm ]; then
  DATA=$CORPUS/raw
  mkdir -p "$D/spm"
  [ -n "${SKIP_TRAIN:-}" ] || "$PY" - "$DATA" "$D/spm" <<'PYEOF'
import sys, sentencepiece as spm
data, out = sys.argv[1], sys.argv[2]
for side, size in (("src", 100), ("trg", 150)):
    spm.SentencePieceTrainer.train(input=f"{data}/train.{side}", model_prefix=f"{out}/spm_{side}",
                                   vocab_size=size, model_type="unigram", character_coverage=1.0,
                                   hard_vocab_limit=False, num_threads=1,
                                   minloglevel=2)
PYEOF
  SRC_CFG="{lang: src, level: bpe, tokenizer_type: sentencepiece, tokenizer_cfg: {model_file: $D/spm/spm_src.model}, lowercase: false, voc_limit: 1000, voc_min_freq: 1}"
  TRG_CFG="{lang: trg, level: bpe, tokenizer_type: sentencepiece, tokenizer_cfg: {model_file: $D/spm/spm_trg.model}, lowercase: false, voc_limit: 1000, voc_min_freq: 1}"
fi

write_cfg() {  # $1 = file, $2 = return_prob
cat > "$1" <<YAML
# JoeyNMT 2.3.0 config for $NAME (written by tools/toolkits/train_joeynmt.sh)
name: $NAME
model_dir: $D/model
use_cuda: false
random_seed: 1
data:
  train: $DATA/train
  dev: $DATA/dev
  test: $DATA/test
  dataset_type: plain
  src: $SRC_CFG
  trg: $TRG_CFG
testing:
  beam_size: 1
  max_output_length: 50
  min_output_length: 1
  batch_size: 1
  batch_type: sentence
  eval_metrics: [bleu]
  return_prob: $2
training:
  optimizer: adam
  learning_rate: 0.003
  # JoeyNMT 2.3.0 raises "Invalid scheduler" when no scheduling is given (builders.py:
  # build_scheduler has no None branch), so use plateau with a patience that never triggers.
  scheduling: plateau
  patience: 1000
  decrease_factor: 0.5
  batch_size: 32
  batch_type: sentence
  epochs: $EPOCHS
  validation_freq: 250
  logging_freq: 50
  early_stopping_metric: ppl
  keep_best_ckpts: 1
  overwrite: true
  print_valid_sents: [0]
model:
  initializer: xavier_uniform
$MODEL
YAML
}
write_cfg "$D/config.yaml" none
write_cfg "$D/config_scores.yaml" hyp

cd "$D"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if [ -z "${SKIP_TRAIN:-}" ]; then
  T0=$(date +%s)
  nice -n 10 "$PY" -m joeynmt train config.yaml --skip-test > train.log 2>&1
  T1=$(date +%s)
  echo $((T1-T0)) > train_seconds
fi
TRAIN_SECONDS=$(cat train_seconds)
M=$D/model
cp "$DATA/test.src" "$OUT/test.src"
cp "$DATA/test.tgt" "$OUT/reference.tgt"
cp "$M/config.yaml" "$OUT/config.yaml"
cp "$M/src_vocab.txt" "$M/trg_vocab.txt" "$OUT/"
if [ "$NAME" = joey_spm ]; then cp "$M/spm_src.model" "$M/spm_trg.model" "$OUT/"; fi   # copied to model_dir by JoeyNMT
cp -L "$M/best.ckpt" "$OUT/best.ckpt"            # best.ckpt is a symlink to {step}.ckpt
BEST=$(readlink "$M/best.ckpt")

# `translate -o FILE` crashes in 2.3.0 after decoding (prediction.py: save_hypothese(..., args.n_best):
# 'BaseConfig' object has no attribute 'n_best'), so the hypotheses are taken from stdout
# (JoeyNMT's logger writes to stderr).
CMD="python -m joeynmt translate config.yaml < test.src > toolkit.out"
"$PY" -m joeynmt translate config.yaml < "$OUT/test.src" > "$OUT/toolkit.out" 2> translate.log
"$PY" "$HERE/fixture_tools.py" check_lines "$OUT/test.src" "$OUT/toolkit.out"
# per-token log-probs: `test -s` decodes data.dev and data.test (= the same test.src) with return_prob: hyp
"$PY" -m joeynmt test config_scores.yaml -o "$D/scored" -s > test.log 2>&1
cp "$D/scored.test.tokens" "$OUT/toolkit.tokens"
cp "$D/scored.test.scores" "$OUT/toolkit.scores"
"$PY" "$HERE/fixture_tools.py" check_lines "$OUT/test.src" "$OUT/toolkit.scores"
if ! diff -q "$D/scored.test" "$OUT/toolkit.out" > /dev/null; then
  echo "WARNING: joeynmt test (return_prob hyp) text differs from translate on $(diff "$D/scored.test" "$OUT/toolkit.out" | grep -c '^<') lines" | tee "$OUT/SCORES_DIFFER.txt"
fi
"$PY" "$HERE/fixture_tools.py" tensors "$OUT/best.ckpt" "$OUT/tensors.txt"
ACC=$("$PY" "$HERE/fixture_tools.py" accuracy "$OUT/toolkit.out" "$OUT/reference.tgt")
TORCH=$("$PY" -c 'import torch; print(torch.__version__)')
STEPS=$("$PY" -c 'import sys, torch; print(torch.load(sys.argv[1], map_location="cpu")["stats_state"]["steps"])' "$OUT/best.ckpt")
EXTRA=()
if [ "$NAME" = joey_spm ]; then
  EXTRA=('sentencepiece=["spm_src.model / spm_trg.model: unigram models trained by this script (sentencepiece '"$("$PY" -c 'import sentencepiece; print(sentencepiece.__version__)')"', vocab_size 100 / 150, character_coverage 1.0, default nmt_nfkc normalization) on raw/train.src / raw/train.trg; JoeyNMT copies them into model_dir", "test.src is RAW text (capitals, punctuation, accents); toolkit.out is RAW text", "source: line.rstrip(), then SentencePieceProcessor.encode(out_type=str) AFTER JoeyNMT called spm.SetVocabulary(src_vocab ids->pieces) (tokenizers.py set_vocab), so pieces missing from src_vocab.txt are split further; piece -> id via src_vocab.txt (NOT the spm ids); </s> appended", "output: ids -> pieces via trg_vocab.txt, cut at </s>, specials removed, spm_trg.decode(pieces) (after SetVocabulary(trg_vocab)), then U+2581 -> space and strip()", "vocab files list pieces (with U+2581) in JoeyNMT order: specials, then frequency desc, ties alphabetical"]')
fi
"$PY" "$HERE/fixture_tools.py" meta "$OUT/meta.json" "${EXTRA[@]}" \
  toolkit=JoeyNMT version=2.3.0 torch="$TORCH" model="$NAME" checkpoint=best.ckpt \
  "checkpoint_source=$BEST (model_dir/best.ckpt symlink, copied as a real file)" \
  epochs=$EPOCHS "best_checkpoint_step=$STEPS" "training_seconds=$TRAIN_SECONDS" \
  "translate_command=$CMD" \
  "translate_config_testing={\"beam_size\": 1, \"max_output_length\": 50, \"min_output_length\": 1, \"batch_size\": 1, \"return_prob\": \"none\"}" \
  'scores_command="python -m joeynmt test config_scores.yaml -o scored -s  (config_scores.yaml = config.yaml with testing.return_prob: hyp; decodes data.test = test.src greedily)"' \
  'scores_format="toolkit.tokens: per line, the Python list of generated tokens up to and including </s> (a line that hit max_output_length has no </s>); toolkit.scores: per line, the Python list of the natural-log probabilities (log_softmax, then argmax) of those tokens, same length"' \
  beam_size=1 max_output_length=50 min_output_length=1 batch_size=1 generate_unk=true \
  "test_lines=$(wc -l < "$OUT/test.src")" "exact_match_vs_reference=\"$ACC\"" \
  'notes=["vocab files: src_vocab.txt / trg_vocab.txt, line i = id i; specials <unk>=0 <pad>=1 <s>=2 </s>=3, then tokens by frequency desc, ties alphabetical", "source: line.rstrip(), split(\" \"), </s> APPENDED; unknown words -> <unk>", "decoder starts with <s>; greedy argmax of raw logits with <s>, <pad> set to -inf every step and </s> -inf at step 0 (min_output_length 1); <unk> may be generated (generate_unk true)", "output: cut after the first </s>, specials removed, tokens joined by single spaces", "empty input lines are skipped by translate (none here)", "translate -o FILE crashes in JoeyNMT 2.3.0 after decoding (save_hypothese(..., args.n_best): BaseConfig has no n_best), so toolkit.out is translate\u0027s stdout (one hypothesis per line; logging goes to stderr)", "weights: ckpt[\"model_state\"]; ckpt[\"optimizer_state\"] is the Adam state", "config.yaml is the model_dir copy written at train start: data paths are absolute paths of the training machine; the model section is what a converter needs"]'
echo "$NAME: trained $EPOCHS epochs in $TRAIN_SECONDS s (best step $STEPS), $(du -k "$OUT/best.ckpt" | cut -f1) KiB, exact match $ACC"
