#!/usr/bin/env bash
# Train one tiny OpenNMT-py 3.5.1 model on the synthetic corpus and record what
# onmt_translate prints (greedy, batch size 1) into Tests/Fixtures/toolkits/NAME.
#
#   tools/toolkits/train_opennmt.sh NAME      NAME in: onmt_brnn_lstm_general
#                                                      onmt_gru_mlp_bridge
#                                                      onmt_lstm_dot_nofeed_shared
# Env: VENVS (/work/venvs), WORK (/work/toolkits), CORPUS ($WORK/corpus),
#      STEPS (training steps), LR (Adam learning rate): defaults per model, FIXTURES (repo Tests/Fixtures/toolkits)
set -euo pipefail
NAME=$1
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VENVS=${VENVS:-/work/venvs}
WORK=${WORK:-/work/toolkits}
CORPUS=${CORPUS:-$WORK/corpus}
FIXTURES=${FIXTURES:-$REPO/Tests/Fixtures/toolkits}
BIN=$VENVS/onmt/bin
PY=$BIN/python
D=$WORK/$NAME
OUT=$FIXTURES/$NAME
if [ -z "${SKIP_TRAIN:-}" ]; then rm -rf "$D" "$OUT"; fi
mkdir -p "$D" "$OUT"

case $NAME in
  onmt_brnn_lstm_general)
    MODEL="encoder_type: brnn
rnn_type: LSTM
layers: 2
hidden_size: 64
word_vec_size: 32
global_attention: general
input_feed: 1"
    STEPS=${STEPS:-1500}; LR=${LR:-0.002} ;;
  onmt_gru_mlp_bridge)
    MODEL="encoder_type: brnn
rnn_type: GRU
layers: 2
hidden_size: 64
word_vec_size: 32
global_attention: mlp
bridge: true
input_feed: 1"
    STEPS=${STEPS:-1000}; LR=${LR:-0.004} ;;
  onmt_lstm_dot_nofeed_shared)
    MODEL="encoder_type: rnn
rnn_type: LSTM
layers: 2
hidden_size: 32
word_vec_size: 32
global_attention: dot
input_feed: 0
share_decoder_embeddings: true"
    STEPS=${STEPS:-3000}; LR=${LR:-0.003} ;;
  *) echo "unknown model $NAME" >&2; exit 2 ;;
esac

cat > "$D/train.yaml" <<YAML
# OpenNMT-py 3.5.1 training config for $NAME (written by tools/toolkits/train_opennmt.sh)
save_data: $D/data
src_vocab: $D/vocab.src
tgt_vocab: $D/vocab.tgt
overwrite: true
data:
  corpus_1:
    path_src: $CORPUS/train.src
    path_tgt: $CORPUS/train.tgt
  valid:
    path_src: $CORPUS/dev.src
    path_tgt: $CORPUS/dev.tgt
save_model: $D/model
train_steps: $STEPS
valid_steps: $STEPS
save_checkpoint_steps: $STEPS
keep_checkpoint: 1
report_every: 100
seed: 1
decoder_type: rnn
$MODEL
dropout: [0.1]
attention_dropout: [0.0]
optim: adam
learning_rate: $LR
batch_size: 32
batch_type: sents
valid_batch_size: 32
num_workers: 0
YAML

cd "$D"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if [ -z "${SKIP_TRAIN:-}" ]; then   # SKIP_TRAIN=1: reuse $D's checkpoint, redo only the recording
  "$BIN/onmt_build_vocab" -config train.yaml -n_sample -1 > build_vocab.log 2>&1
  T0=$(date +%s)
  nice -n 10 "$BIN/onmt_train" -config train.yaml > train.log 2>&1
  T1=$(date +%s)
  echo $((T1-T0)) > train_seconds
fi
TRAIN_SECONDS=$(cat train_seconds)
CKPT=model_step_${STEPS}.pt
cp "$CORPUS/test.src" "$OUT/test.src"
cp "$CORPUS/test.tgt" "$OUT/reference.tgt"
cp train.yaml "$OUT/train.yaml"
cp "$CKPT" "$OUT/$CKPT"

CMD="onmt_translate -model $CKPT -src test.src -output toolkit.out -beam_size 1 -n_best 1 -max_length 50 -max_length_ratio 0 -min_length 0 -batch_size 1 -gpu -1"
# -with_score crashes in 3.5.1 with beam search (translator.py:437 calls .item() on a float),
# so the sentence scores come from -verbose's "PRED SCORE:" log lines (4 decimals).
SCMD="onmt_translate -model $CKPT -src test.src -output $D/scored.out -beam_size 1 -n_best 1 -max_length 50 -max_length_ratio 0 -min_length 0 -batch_size 1 -gpu -1 -verbose -length_penalty none"
(cd "$OUT" && PATH=$BIN:$PATH $CMD > "$D/translate.log" 2>&1)
(cd "$OUT" && PATH=$BIN:$PATH $SCMD > "$D/translate_scores.log" 2>&1)
$PY "$HERE/fixture_tools.py" check_lines "$OUT/test.src" "$OUT/toolkit.out"
# the scored run must print the same text (length_penalty cannot change a beam of 1)
cmp -s "$D/scored.out" "$OUT/toolkit.out" || { echo "scored run differs from toolkit.out" >&2; exit 1; }
$PY - "$D/translate_scores.log" "$OUT/toolkit.out" "$OUT/toolkit.scores" <<'PYEOF'
import re, sys
log = open(sys.argv[1], encoding="utf-8").read()
preds = re.findall(r"^PRED (\d+): (.*)$", log, re.M)
scores = re.findall(r"^PRED SCORE: (\S+)$", log, re.M)
hyps = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
assert len(preds) == len(scores) == len(hyps), (len(preds), len(scores), len(hyps))
for k, ((n, p), h) in enumerate(zip(preds, hyps)):
    assert int(n) == k + 1 and p == h, (k, n, p, h)
open(sys.argv[3], "w", encoding="utf-8").write("".join(f"{h}\t{s}\n" for h, s in zip(hyps, scores)))
PYEOF
$PY "$HERE/fixture_tools.py" tensors "$OUT/$CKPT" "$OUT/tensors.txt"
ACC=$($PY "$HERE/fixture_tools.py" accuracy "$OUT/toolkit.out" "$OUT/reference.tgt")
TORCH=$($PY -c 'import torch; print(torch.__version__)')
OPTS=$($PY - "$OUT/$CKPT" <<'PYEOF'
import json, sys, torch
ck = torch.load(sys.argv[1], map_location="cpu")
o = vars(ck["opt"])
keys = ["encoder_type", "decoder_type", "rnn_type", "layers", "enc_layers", "dec_layers", "hidden_size",
        "enc_hid_size", "dec_hid_size", "word_vec_size", "src_word_vec_size", "tgt_word_vec_size",
        "global_attention", "global_attention_function", "input_feed", "bridge", "brnn",
        "share_decoder_embeddings", "share_embeddings", "copy_attn", "coverage_attn", "context_gate",
        "position_encoding", "vocab_size_multiple", "model_dtype"]
print(json.dumps({k: o.get(k) for k in keys}))
PYEOF
)
EXTRA=()
if [ "$NAME" = onmt_lstm_dot_nofeed_shared ]; then
  EXTRA=('tied_weights="share_decoder_embeddings: ckpt[\"generator\"][\"weight\"] and ckpt[\"model\"][\"decoder.embeddings.make_embedding.emb_luts.0.weight\"] are one storage in the file (equal tensors); the generator bias is separate and trained"')
fi
$PY "$HERE/fixture_tools.py" meta "$OUT/meta.json" "${EXTRA[@]}" \
  toolkit=OpenNMT-py version=3.5.1 torch="$TORCH" model="$NAME" checkpoint="$CKPT" \
  "training_options=$OPTS" training_steps=$STEPS "training_seconds=$TRAIN_SECONDS" \
  "translate_command=$CMD" "scores_command=$SCMD" \
  'scores_format="toolkit.scores: one line per input, hypothesis TAB score, score = the PRED SCORE that scores_command logs with -verbose (4 decimals): with -length_penalty none the sum of the natural-log probabilities of the generated tokens including the final </s>. OpenNMT-py prints no per-token scores (-with_score crashes in 3.5.1 with beam search: translator.py:437 calls .item() on a float; -dump_beam is asserted off)"' \
  beam_size=1 n_best=1 max_length=50 max_length_ratio=0 min_length=0 batch_size=1 \
  "test_lines=$(wc -l < "$OUT/test.src")" "exact_match_vs_reference=\"$ACC\"" \
  'notes=["vocab is inside the checkpoint: ckpt[\"vocab\"][\"src\"|\"tgt\"] = id->token lists; specials <unk>=0 <blank>(pad)=1 <s>=2 </s>=3, padded to a multiple of 8 with averyunlikelytoken{i}", "source: line.strip().split(\" \"), no bos/eos appended; unknown words -> <unk> (0)", "decoder starts with <s> (ckpt[\"vocab\"][\"decoder_start_token\"]); greedy = topk over all ids incl. specials; output drops the final </s>, tokens joined by single spaces", "weights: ckpt[\"model\"] (all but the generator) and ckpt[\"generator\"] (weight, bias); ckpt[\"optim\"] is the Adam state", "with -max_length_ratio 0 onmt_translate uses -max_length as is (translator.py: if self.max_length_ratio > 0 ... else max_length = self.max_length)"]'
echo "$NAME: trained ${STEPS} steps in $TRAIN_SECONDS s, $(du -k "$OUT/$CKPT" | cut -f1) KiB, exact match $ACC"
