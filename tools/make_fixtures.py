#!/usr/bin/env python3
"""Generate the repo's golden cases in Tests/Fixtures/golden/ (same format as the shared fixtures).

    /work/venv/bin/python tools/make_fixtures.py [--out Tests/Fixtures/golden] [--only SUBSTR]

Every case is deterministic (fixed seeds). Valid cases: random weights scaled so that distributions are
not flat, written to `<case>/model/`, then re-read (so F16/BF16 rounding is in the expectations) and run in
float64 by tools/seq2seq_torch.py. Inputs are drawn again until each greedy decision has a gap >= 1e-3
and each beam a margin >= 1e-3 (see the shared fixtures README). Invalid cases (`"kind": "invalid"`)
are model directories that MODEL.md says must be refused, with the words a good message contains.
Check the result with tools/check_torch_vs_fixtures.py (and the engine with shared/fixtures/check.py).
"""
import argparse
import copy
import json
import math
import os
import random
import shutil
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq2seq_torch as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_GAP = 1e-3


# ----------------------------------------------------------------------------- helpers

def sig(x, n=4):
    return float(f"{x:.{n}g}") if math.isfinite(x) else x


def att_round(att):
    return None if att is None else [[round(v, 6) for v in row] for row in att]


def dump_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def special_names(sp):
    """id -> label of the special tokens present (format 2 may leave out pad and unk; with bos = eos the
    later label wins)."""
    names = {}
    for key, label in (("pad", "<pad>"), ("bos", "<s>"), ("eos", "</s>"), ("unk", "<unk>")):
        if sp.get(key) is not None:
            names[sp[key]] = label
    return names


def synthetic_vocab(size, prefix, sp):
    names = special_names(sp)
    out, k = [], 0
    for i in range(size):
        if i in names:
            out.append(names[i])
        else:
            out.append(f"{prefix}{k}")
            k += 1
    return out


def char_vocab(chars, sp, size):
    names = special_names(sp)
    chars = list(chars)
    out = []
    for i in range(size):
        out.append(names[i] if i in names else chars.pop(0))
    assert not chars, "too many characters for the vocabulary size"
    return out


def init_weights(model, seed, gain=1.6, out_gain=3.0, emb_std=1.0, bias_std=0.3):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embedding" in name:
                p.copy_(torch.randn(p.shape, generator=g) * emb_std)
            elif st.is_bias(name):
                p.copy_(torch.randn(p.shape, generator=g) * bias_std)
            else:
                k = out_gain if name.startswith("decoder.output.") else gain
                p.copy_(torch.randn(p.shape, generator=g) * (k / math.sqrt(p.shape[1])))


def random_source(rng, cfg, lo=1, hi=12):
    """Random ids, never pad, bos or eos (unk may occur)."""
    sp = cfg["special_tokens"]
    ok = [i for i in range(cfg["source_vocab_size"]) if i not in (sp.get("pad"), sp["bos"], sp["eos"])]
    return [rng.choice(ok) for _ in range(rng.randint(lo, hi))]


def tune_eos(model, cfg, rng, greedy_params, target=0.65):
    """Make eos likely in some states and not others: blend the eos output row with another token's row
    and shift the eos bias, choosing the pair for which about `target` of greedy outputs on a sample end
    with eos while few outputs are empty."""
    sp = cfg["special_tokens"]
    eos = sp["eos"]
    tied = cfg["tie_target_embeddings"]
    srcs = [random_source(rng, cfg) for _ in range(24)]
    ref = st.to_reference(model)
    W = ref.decoder.embedding.weight if tied else ref.decoder.output.weight
    w0 = W[eos].detach().clone()
    b0 = float(ref.decoder.output.bias[eos].detach())
    others = [i for i in range(cfg["target_vocab_size"]) if i not in sp.values()]
    tok = others[rng.randrange(len(others))]
    best = None
    for blend in [0.0, 0.6, 0.9, 1.1]:
        for shift in [-6.0, -4.0, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0]:
            with torch.no_grad():
                W[eos] = (1 - blend) * w0 + blend * W[tok]
                ref.decoder.output.bias[eos] = b0 + shift
            rs = [st.greedy(ref, s_, greedy_params.get("max_length"), greedy_params.get("min_length") or 0)
                  for s_ in srcs]
            frac = sum(r["ended_with_eos"] for r in rs) / len(rs)
            empty = sum(len(r["ids"]) == 0 for r in rs) / len(rs)
            mean_len = sum(len(r["ids"]) for r in rs) / len(rs)
            obj = abs(frac - target) + 0.5 * empty
            if best is None or obj < best[0] - 1e-9:
                best = (obj, blend, shift, frac, mean_len)
    _, blend, shift, frac, mean_len = best
    with torch.no_grad():
        Wm = model.decoder.embedding.weight if tied else model.decoder.output.weight
        Wm[eos] = ((1 - blend) * w0 + blend * Wm[tok].double()).float()
        model.decoder.output.bias[eos] = b0 + shift
    return {"row_blend": blend, "blended_with_token": tok, "bias_shift": shift,
            "eos_fraction_on_sample": round(frac, 3), "mean_length_on_sample": round(mean_len, 1)}


def greedy_expect(ref, src, params, tvocab):
    r = st.greedy(ref, src, params.get("max_length"), params.get("min_length") or 0)
    return {"ids": r["ids"], "log_prob": r["log_prob"], "attention": att_round(r["attention"]),
            "ended_with_eos": r["ended_with_eos"], "token_log_probs": [round(x, 7) for x in r["token_log_probs"]],
            "gaps": [sig(x) for x in r["gaps"]], "min_gap": sig(min(r["gaps"])),
            "tokens": [tvocab[i] for i in r["ids"]]}


def beam_expect(ref, src, params, tvocab):
    hyps, margin = st.beam_search(ref, src, params["beam_size"], params["n_best"], params["length_penalty"],
                                  params.get("max_length"), params.get("min_length") or 0)
    nb = [{"ids": h["ids"], "log_prob": h["log_prob"], "score": h["score"], "ended_with_eos": h["ended_with_eos"],
           "attention": att_round(h["attention"]), "tokens": [tvocab[i] for i in h["ids"]]} for h in hyps]
    return {"n_best": nb, "margin": sig(margin)}


def decode_params(max_length=None, min_length=0, batch_size=None, beam_size=1, n_best=None, length_penalty=None):
    d = {"beam_size": beam_size}
    if n_best is not None:
        d["n_best"] = n_best
        d["length_penalty"] = length_penalty
    d.update({"max_length": max_length, "min_length": min_length, "batch_size": batch_size})
    return d


# ----------------------------------------------------------------------------- valid cases

VALID = [
    dict(name="g01_rnn_luong_general_linear_bi_enc2",
         desc="rnn_tanh, 2-layer bidirectional encoder, 1-layer decoder, luong_general, linear_tanh bridge",
         cfg=dict(cell="rnn_tanh", source_vocab_size=30, target_vocab_size=34, embedding_size=10, hidden_size=12,
                  encoder_layers=2, decoder_layers=1, bidirectional_encoder=True, bridge="linear_tanh",
                  attention="luong_general")),
    dict(name="g02_lstm_luong_concat_copy_2layers",
         desc="lstm, luong_concat, copy bridge (cell states copied), 2/2 layers",
         cfg=dict(cell="lstm", source_vocab_size=28, target_vocab_size=32, embedding_size=12, hidden_size=14,
                  encoder_layers=2, decoder_layers=2, bridge="copy", attention="luong_concat", attention_size=10),
         beam=dict(beam_size=3, n_best=3, length_penalty=1.0)),
    dict(name="g03_gru_none_zeros",
         desc="gru, no attention, zeros bridge, unidirectional",
         cfg=dict(cell="gru", source_vocab_size=26, target_vocab_size=30, embedding_size=8, hidden_size=12,
                  bridge="zeros", attention="none")),
    dict(name="g04_gru_bahdanau_linear_beam5_nbest5_lp06",
         desc="beam 5, n_best 5, length_penalty 0.6",
         cfg=dict(cell="gru", source_vocab_size=30, target_vocab_size=24, embedding_size=10, hidden_size=12,
                  bidirectional_encoder=True, bridge="linear_tanh", attention="bahdanau", attention_size=8),
         beam=dict(beam_size=5, n_best=5, length_penalty=0.6), n_inputs=8, src_hi=8),
    dict(name="g05_lstm_luong_dot_copy_beam5_nbest5_lp0",
         desc="beam 5, n_best 5, length_penalty 0.0 (raw log-probabilities rank)",
         cfg=dict(cell="lstm", source_vocab_size=24, target_vocab_size=22, embedding_size=10, hidden_size=12,
                  bridge="copy", attention="luong_dot"),
         beam=dict(beam_size=5, n_best=5, length_penalty=0.0), n_inputs=8, src_hi=8),
    dict(name="g06_gru_luong_concat_linear_bi_min4_max9_beam",
         desc="min_length 4, max_length 9, for greedy and beam (beam 3, n_best 3)",
         cfg=dict(cell="gru", source_vocab_size=32, target_vocab_size=28, embedding_size=10, hidden_size=10,
                  bidirectional_encoder=True, bridge="linear_tanh", attention="luong_concat", attention_size=8),
         dec=dict(max_length=9, min_length=4), beam=dict(beam_size=3, n_best=3, length_penalty=1.0),
         eos_target=0.9),
    dict(name="g07_gru_bahdanau_linear_bi_characters",
         desc="characters tokenizer, text inputs (jsonl and --format text), unknown characters map to unk",
         cfg=dict(cell="gru", source_vocab_size=26, target_vocab_size=20, embedding_size=10, hidden_size=12,
                  bidirectional_encoder=True, bridge="linear_tanh", attention="bahdanau", attention_size=10,
                  tokenizer="characters"),
         chars=("abcdefghij klmn-.,0123", "xyzuvw 0123456-/"),
         texts=["abc", "a", " ", "hello, jim", "lamb-0.1", "big  band ", "q?", "n3", "Ünïcödé ok"]),
    dict(name="g08_rnn_bahdanau_copy_bad_inputs",
         desc="malformed input lines among good ones (translate and score): bad JSON, ids out of range, "
              "negative id, empty source",
         cfg=dict(cell="rnn_tanh", source_vocab_size=20, target_vocab_size=24, embedding_size=8, hidden_size=10,
                  bridge="copy", attention="bahdanau", attention_size=8),
         bad=True, texts=["s1 s2 s3", "s4\ts0  s9", "s15 unknownword"]),
    dict(name="g09_lstm_bahdanau_zeros_dec3_f16_no_ih_biases",
         desc="all tensors stored as F16; every bias_ih absent; 1-layer encoder, 3-layer decoder, zeros bridge",
         cfg=dict(cell="lstm", source_vocab_size=24, target_vocab_size=26, embedding_size=8, hidden_size=10,
                  encoder_layers=1, decoder_layers=3, bridge="zeros", attention="bahdanau", attention_size=6),
         dtype="F16", drop_pattern="bias_ih"),
    dict(name="g10_gru_luong_general_linear_min6_max6_batch4",
         desc="min_length = max_length = 6 (every output exactly 6 tokens), --batch-size 4",
         cfg=dict(cell="gru", source_vocab_size=26, target_vocab_size=24, embedding_size=8, hidden_size=10,
                  bridge="linear_tanh", attention="luong_general"),
         dec=dict(max_length=6, min_length=6, batch_size=4), beam=dict(beam_size=2, n_best=2, length_penalty=1.0)),
    dict(name="g11_rnn_none_linear_bi_tied_bf16_meta",
         desc="tied target embeddings, no attention, linear_tanh bridge from a bidirectional encoder, BF16 storage, "
              "__metadata__ in the header",
         cfg=dict(cell="rnn_tanh", source_vocab_size=22, target_vocab_size=26, embedding_size=12, hidden_size=12,
                  bidirectional_encoder=True, bridge="linear_tanh", attention="none", tie_target_embeddings=True),
         dtype="BF16", metadata={"format": "pt", "note": "golden case"}),
    dict(name="g12_gru_bahdanau_copy_other_special_ids",
         desc="special_tokens not at the usual ids (pad 3, bos 0, eos 1, unk 2), --batch-size 3",
         cfg=dict(cell="gru", source_vocab_size=24, target_vocab_size=26, embedding_size=8, hidden_size=10,
                  bridge="copy", attention="bahdanau", attention_size=8,
                  special_tokens={"pad": 3, "bos": 0, "eos": 1, "unk": 2}),
         dec=dict(batch_size=3), texts=["s0 s1 s2", "s7 s8", "nope s3"]),
    # ---- format 2 (MODEL.md "Format version 2"): every new key and value is in at least one case below.
    dict(name="g13_lstm_luong_general_copy_bi_enc2_he_half",
         desc="format 2: copy bridge from a bidirectional 2-layer encoder, encoder_hidden_size = H/2 "
              "(each decoder layer starts from [forward final; backward final] of its encoder layer, cells too)",
         cfg=dict(cell="lstm", source_vocab_size=28, target_vocab_size=30, embedding_size=10, hidden_size=12,
                  encoder_hidden_size=6, encoder_layers=2, decoder_layers=2, bidirectional_encoder=True,
                  bridge="copy", attention="luong_general")),
    dict(name="g14_lstm_bahdanau_linear_stacked_relu_bi_enc2_dec3",
         desc="format 2: linear bridge, bridge_input stacked (Z = Le*D), bridge_activation relu, bridge_cell zeros "
              "(lstm), bidirectional 2-layer encoder, 3-layer decoder, decoder_input_feed context (explicit)",
         cfg=dict(cell="lstm", source_vocab_size=26, target_vocab_size=28, embedding_size=8, hidden_size=10,
                  encoder_layers=2, decoder_layers=3, bidirectional_encoder=True, bridge="linear",
                  bridge_input="stacked", bridge_activation="relu", bridge_cell="zeros", attention="bahdanau",
                  attention_size=8, decoder_input_feed="context")),
    dict(name="g15_lstm_luong_concat_linear_layer_none_celllinear_bi_he7",
         desc="format 2: linear bridge, bridge_input layer, bridge_activation none, bridge_cell linear "
              "(bridge_cell.{k} over [fwd; bwd] final cell states), encoder_hidden_size 7 != H 10 (bidirectional, "
              "D 14), luong_concat with combine_activation none, decoder_input_feed previous_output (explicit)",
         cfg=dict(cell="lstm", source_vocab_size=24, target_vocab_size=26, embedding_size=8, hidden_size=10,
                  encoder_hidden_size=7, encoder_layers=2, decoder_layers=2, bidirectional_encoder=True,
                  bridge="linear", bridge_input="layer", bridge_activation="none", bridge_cell="linear",
                  attention="luong_concat", attention_size=9, decoder_input_feed="previous_output",
                  combine_activation="none"),
         beam=dict(beam_size=3, n_best=3, length_penalty=0.8)),
    dict(name="g16_lstm_bahdanau_linear_summary_tanh_cellhidden_enc2",
         desc="format 2: linear bridge, bridge_input summary, bridge_activation tanh (explicit), bridge_cell hidden "
              "(c_0 = s_0), 2-layer encoder, 1-layer decoder, decoder_embedding_activation none (explicit)",
         cfg=dict(cell="lstm", source_vocab_size=26, target_vocab_size=24, embedding_size=10, hidden_size=12,
                  encoder_layers=2, decoder_layers=1, bridge="linear", bridge_input="summary",
                  bridge_activation="tanh", bridge_cell="hidden", attention="bahdanau", attention_size=10,
                  decoder_embedding_activation="none")),
    dict(name="g17_gru_luong_dot_feed_none_linear_layer",
         desc="format 2: luong_dot with decoder_input_feed none (the RNN reads e_t alone), combine_activation tanh "
              "(explicit), gru with a linear bridge (bridge_input layer, tanh), 2/2 layers",
         cfg=dict(cell="gru", source_vocab_size=26, target_vocab_size=28, embedding_size=8, hidden_size=12,
                  encoder_layers=2, decoder_layers=2, bridge="linear", bridge_input="layer",
                  attention="luong_dot", decoder_input_feed="none", combine_activation="tanh")),
    dict(name="g18_rnn_none_feed_previous_output_copy_bi",
         desc="format 2: attention none with decoder_input_feed previous_output (o_{t-1} = s_{t-1}^top, o_0 = 0), "
              "rnn_tanh, copy bridge from a bidirectional encoder with encoder_hidden_size 5 = H/2",
         cfg=dict(cell="rnn_tanh", source_vocab_size=22, target_vocab_size=26, embedding_size=8, hidden_size=10,
                  encoder_hidden_size=5, bidirectional_encoder=True, bridge="copy", attention="none",
                  decoder_input_feed="previous_output")),
    dict(name="g19_gru_none_feed_none_emb_relu",
         desc="format 2: attention none with decoder_input_feed none, decoder_embedding_activation relu, "
              "linear_tanh bridge from a bidirectional encoder",
         cfg=dict(cell="gru", source_vocab_size=24, target_vocab_size=26, embedding_size=10, hidden_size=12,
                  bidirectional_encoder=True, bridge="linear_tanh", attention="none", decoder_input_feed="none",
                  decoder_embedding_activation="relu")),
    dict(name="g20_gru_bahdanau_output_projection",
         desc="format 2: output_projection_size 7 (H 12, untied: decoder.output.weight (Vt, 7)), gru linear bridge "
              "(summary, none)",
         cfg=dict(cell="gru", source_vocab_size=26, target_vocab_size=30, embedding_size=10, hidden_size=12,
                  bridge="linear", bridge_input="summary", bridge_activation="none", attention="bahdanau",
                  attention_size=8, output_projection_size=7)),
    dict(name="g21_lstm_none_feed_summary_projection_tied",
         desc="format 2: output_projection_size 8 = embedding_size with tie_target_embeddings (H 12), attention none "
              "with decoder_input_feed summary (explicit), copy bridge 2/2 layers",
         cfg=dict(cell="lstm", source_vocab_size=24, target_vocab_size=26, embedding_size=8, hidden_size=12,
                  encoder_layers=2, decoder_layers=2, bridge="copy", attention="none",
                  decoder_input_feed="summary", output_projection_size=8, tie_target_embeddings=True)),
    dict(name="g22_gru_bahdanau_source_eos_bos_eq_eos_suppress_no_pad_unk",
         desc="format 2: source_append_eos (S counts the eos: attention rows, max_length 2S+10), bos = eos = 2, no "
              "pad and no unk (unknown text tokens are line errors in translate jsonl/text and score), suppress_ids "
              "(the 3 most frequent greedy tokens of the unsuppressed model)",
         cfg=dict(cell="gru", source_vocab_size=24, target_vocab_size=26, embedding_size=8, hidden_size=10,
                  bridge="linear_tanh", attention="bahdanau", attention_size=8, decoder_input_feed="context",
                  source_append_eos=True, suppress_ids=[], special_tokens={"bos": 2, "eos": 2}),
         suppress_frequent=3, unknown=True, texts=["s0 s1 s2", "s7 s8", "s3", "s10 s4 s4 s12"],
         beam=dict(beam_size=4, n_best=3, length_penalty=1.0)),
    dict(name="g23_gru_luong_dot_decoding_defaults_detokenize_skip",
         desc="format 2: decoding_defaults beam_size 3, min_length 3 (the defaults step runs the CLI without "
              "--beam-size/--min-length; the other steps give them and override), detokenize_skip_ids (the 2 most "
              "frequent output tokens: kept in ids/tokens, left out of text output), no pad (unk 0, bos 1, eos 2), "
              "source_append_eos false (explicit)",
         cfg=dict(cell="gru", source_vocab_size=26, target_vocab_size=24, embedding_size=8, hidden_size=10,
                  bridge="copy", attention="luong_dot", source_append_eos=False, detokenize_skip_ids=[],
                  decoding_defaults={"beam_size": 3, "min_length": 3}, special_tokens={"bos": 1, "eos": 2, "unk": 0}),
         skip_frequent=2, dec=dict(min_length=1), eos_target=0.3, beam=dict(beam_size=2, n_best=2, length_penalty=1.0),
         texts=["s1 s2 s3", "s5", "s7 s8 s9 s10"]),
]


def frequent_tokens(model, cfg, rng, gp, n, exclude=()):
    """The n target ids that greedy decoding of 24 random sources outputs most often (specials and `exclude`
    left out; ties: lower id)."""
    ref = st.to_reference(model)
    counts = {}
    for _ in range(24):
        for i in st.greedy(ref, random_source(rng, cfg), gp.get("max_length"), gp.get("min_length") or 0)["ids"]:
            counts[i] = counts.get(i, 0) + 1
    sp = set(cfg["special_tokens"].values()) | set(exclude)
    ranked = sorted((i for i in counts if i not in sp), key=lambda i: (-counts[i], i))
    assert len(ranked) >= n, "too few distinct output tokens"
    return sorted(ranked[:n])


def choose_inputs(ref, cfg, rng, spec, gp, bp, tvocab, n, dp=None):
    """Draw sources until n have greedy min gap and beam margin >= MIN_GAP (and the decoding_defaults beam's
    margin, with dp). One has length 1."""
    chosen = []
    tries = 0
    lo, hi = 1, spec.get("src_hi", 10)
    while len(chosen) < n:
        tries += 1
        if tries > 3000:
            raise RuntimeError(f"{spec['name']}: could not find {n} inputs without near ties")
        src = random_source(rng, cfg, 1, 1) if not chosen else random_source(rng, cfg, lo, hi)
        if src in [c[0] for c in chosen]:
            continue
        g = greedy_expect(ref, src, gp, tvocab)
        if g["min_gap"] < MIN_GAP:
            continue
        # keep a mix of outputs that end with eos and outputs cut at max_length
        if tries < 300 and not (gp["min_length"] and gp["min_length"] >= (gp["max_length"] or 10 ** 9)):
            n_eos = sum(c[1]["ended_with_eos"] for c in chosen)
            if g["ended_with_eos"] and n_eos >= n - 2:
                continue
            if not g["ended_with_eos"] and len(chosen) - n_eos >= (n + 1) // 2:
                continue
        b = beam_expect(ref, src, bp, tvocab)
        if b["margin"] < MIN_GAP:
            continue
        d = None
        if dp is not None:
            d = beam_expect(ref, src, dp, tvocab)
            if d["margin"] < MIN_GAP:
                continue
        chosen.append((src, g, b, d))
    return chosen, tries


def text_ok(ref, src, gp, cfg, vocab_t):
    """A text input is usable when it is not empty, has no near tie and outputs no special token."""
    if src is None or not src:
        return False
    g = st.greedy(ref, src, gp.get("max_length"), gp.get("min_length") or 0)
    sp = set(cfg["special_tokens"].values())
    return min(g["gaps"]) >= MIN_GAP and not (set(g["ids"]) & sp)


def make_valid(spec, out_root, idx):
    name = spec["name"]
    cdir = os.path.join(out_root, name)
    shutil.rmtree(cdir, ignore_errors=True)
    os.makedirs(os.path.join(cdir, "model"))
    seed, wseed = 3000 + idx, 3100 + idx
    rng = random.Random(seed)
    cfg = st.make_config(**spec["cfg"])
    sp = cfg["special_tokens"]
    if cfg["tokenizer"] == "characters":
        svocab = char_vocab(spec["chars"][0], sp, cfg["source_vocab_size"])
        tvocab = char_vocab(spec["chars"][1], sp, cfg["target_vocab_size"])
    else:
        svocab = synthetic_vocab(cfg["source_vocab_size"], "s", sp)
        tvocab = synthetic_vocab(cfg["target_vocab_size"], "t", sp)
    dec = spec.get("dec", {})
    gp = decode_params(dec.get("max_length"), dec.get("min_length", 0), dec.get("batch_size"))
    b = spec.get("beam", dict(beam_size=4, n_best=2, length_penalty=1.0))
    bp = decode_params(dec.get("max_length"), dec.get("min_length", 0), dec.get("batch_size"), b["beam_size"],
                       b["n_best"], b["length_penalty"])

    model = st.Seq2Seq(cfg)
    init_weights(model, wseed)
    if spec.get("suppress_frequent"):
        # suppress_ids: the tokens the unsuppressed model chooses most, so that suppressing them shows
        cfg["suppress_ids"] = frequent_tokens(model, cfg, random.Random(seed + 11), gp, spec["suppress_frequent"])
        model.cfg["suppress_ids"] = list(cfg["suppress_ids"])
    eos_info = tune_eos(model, cfg, random.Random(seed + 7), gp, spec.get("eos_target", 0.65))
    if spec.get("skip_frequent"):
        # detokenize_skip_ids: frequent output tokens, so that text outputs visibly leave them out
        cfg["detokenize_skip_ids"] = frequent_tokens(model, cfg, random.Random(seed + 13), gp, spec["skip_frequent"],
                                                     exclude=cfg.get("suppress_ids", []))
        model.cfg["detokenize_skip_ids"] = list(cfg["detokenize_skip_ids"])
    dp = None
    if cfg.get("decoding_defaults"):
        # what the command line does without --beam-size and --min-length: the model's decoding_defaults
        dd = cfg["decoding_defaults"]
        dp = decode_params(dec.get("max_length"), dd.get("min_length", 0), dec.get("batch_size"),
                           dd.get("beam_size", 5), 1, 1.0)
    drop = [k for k in model.state_dict() if spec.get("drop_pattern") and spec["drop_pattern"] in k]
    st.save_model_dir(model, cfg, os.path.join(cdir, "model"), svocab, tvocab, dtype=spec.get("dtype", "F32"),
                      drop=drop, metadata=spec.get("metadata"))
    loaded, _, _, _ = st.load_model_dir(os.path.join(cdir, "model"))
    ref = st.to_reference(loaded)

    n = spec.get("n_inputs", 8)
    chosen, tries = choose_inputs(ref, cfg, rng, spec, gp, bp, tvocab, n, dp)
    dump_jsonl(os.path.join(cdir, "inputs.jsonl"), [{"source_ids": c[0]} for c in chosen])
    dump_jsonl(os.path.join(cdir, "expected_greedy.jsonl"), [c[1] for c in chosen])
    dump_jsonl(os.path.join(cdir, "expected_beam.jsonl"), [c[2] for c in chosen])
    files = ["inputs.jsonl", "expected_greedy.jsonl", "expected_beam.jsonl"]
    if dp is not None:
        dump_jsonl(os.path.join(cdir, "expected_defaults.jsonl"), [c[3] for c in chosen])
        files.append("expected_defaults.jsonl")

    # scoring: the greedy output (with eos when it ended so) for even lines, a random target for odd lines
    sc_in, sc_out = [], []
    for i, (src, g, *_) in enumerate(chosen):
        if i % 2 == 0:
            tgt = g["ids"] + ([sp["eos"]] if g["ended_with_eos"] else [])
        else:
            tgt = [rng.randrange(0, cfg["target_vocab_size"]) for _ in range(rng.randint(1, 8))] + [sp["eos"]]
        r = st.score(ref, src, tgt)
        sc_in.append({"source_ids": src, "target_ids": tgt})
        sc_out.append({"token_log_probs": [round(x, 7) for x in r["token_log_probs"]], "log_prob": r["log_prob"]})
    dump_jsonl(os.path.join(cdir, "score_inputs.jsonl"), sc_in)
    dump_jsonl(os.path.join(cdir, "expected_score.jsonl"), sc_out)
    files += ["score_inputs.jsonl", "expected_score.jsonl"]

    def encoded(t):
        """The text's ids, or None when it holds an unknown token and the model has no unk."""
        try:
            return st.encode_text(t, svocab, cfg)
        except ValueError:
            return None

    def shows_skip(t):
        """The text's greedy output holds a skipped id and a kept one."""
        ids = set(st.greedy(ref, encoded(t), gp.get("max_length"), gp.get("min_length") or 0)["ids"])
        skip = set(cfg.get("detokenize_skip_ids", []))
        return bool(ids & skip) and bool(ids - skip)

    if spec.get("texts"):
        texts = [t for t in spec["texts"] if text_ok(ref, encoded(t), gp, cfg, tvocab)]
        words = [w for w in svocab if not w.startswith("<")]
        draws = 0
        while cfg["tokenizer"] == "whitespace" and (
                len(texts) < 5 or (spec.get("skip_frequent") and sum(map(shows_skip, texts)) < 2)):
            draws += 1
            assert draws < 2000, f"{name}: too few usable text inputs"
            t = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
            if text_ok(ref, encoded(t), gp, cfg, tvocab):
                texts.append(t)
        assert len(texts) >= 2, f"{name}: too few usable text inputs"
        tin, tex, txt_out = [], [], []
        for t in texts:
            src = st.encode_text(t, svocab, cfg)
            e = greedy_expect(ref, src, gp, tvocab)
            e["source_ids"] = src
            tin.append({"source": t})
            tex.append(e)
            txt_out.append(st.output_text(e["ids"], tvocab, cfg))
        dump_jsonl(os.path.join(cdir, "text_inputs.jsonl"), tin)
        dump_jsonl(os.path.join(cdir, "expected_text_greedy.jsonl"), tex)
        files += ["text_inputs.jsonl", "expected_text_greedy.jsonl"]
        if not any("\n" in t or "\r" in t for t in texts):
            with open(os.path.join(cdir, "text_inputs.txt"), "w", encoding="utf-8", newline="\n") as f:
                f.write("".join(t + "\n" for t in texts))
            with open(os.path.join(cdir, "expected_text_output.txt"), "w", encoding="utf-8", newline="\n") as f:
                f.write("".join(t + "\n" for t in txt_out))
            files += ["text_inputs.txt", "expected_text_output.txt"]

    if spec.get("bad"):
        Vs = cfg["source_vocab_size"]
        good = [c[0] for c in chosen[:3]]
        lines = [
            json.dumps({"source_ids": good[0]}),
            '{"source_ids": [4, 5',
            json.dumps({"source_ids": [4, Vs, 5]}),
            json.dumps({"source_ids": good[1]}),
            json.dumps({"source_ids": [4, -1, 6]}),
            json.dumps({"source_ids": []}),
            "this is not json",
            json.dumps({"source": texts[0]}),
            json.dumps({"source": ""}),
            json.dumps({"source_ids": good[2]}),
        ]
        bad_lines = {2, 3, 5, 6, 7, 9}
        exp = []
        for i, ln in enumerate(lines, 1):
            if i in bad_lines:
                exp.append({"error": True, "line": i, "input": ln})
                continue
            d = json.loads(ln)
            src = d["source_ids"] if "source_ids" in d else st.encode_text(d["source"], svocab, cfg)
            e = greedy_expect(ref, src, gp, tvocab)
            assert e["min_gap"] >= MIN_GAP, "bad-inputs case: a good text line has a near tie"
            exp.append(e)
        with open(os.path.join(cdir, "bad_inputs.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(ln + "\n" for ln in lines))
        dump_jsonl(os.path.join(cdir, "expected_bad.jsonl"), exp)
        Vt = cfg["target_vocab_size"]
        eos = sp["eos"]
        slines = [
            json.dumps(sc_in[0]),
            '{"source_ids": [4], "target_ids": [5, ',
            json.dumps({"source_ids": good[1], "target_ids": [4, Vt, eos]}),
            json.dumps({"source_ids": [], "target_ids": [4, eos]}),
            json.dumps({"source_ids": good[1], "target_ids": [4, -3, eos]}),
            json.dumps({"source_ids": [Vs + 7], "target_ids": [4, eos]}),
            json.dumps(sc_in[1]),
        ]
        sbad = {2, 3, 4, 5, 6}
        sexp = []
        for i, ln in enumerate(slines, 1):
            if i in sbad:
                sexp.append({"error": True, "line": i, "input": ln})
            else:
                sexp.append(sc_out[0] if i == 1 else sc_out[1])
        with open(os.path.join(cdir, "bad_score_inputs.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(ln + "\n" for ln in slines))
        dump_jsonl(os.path.join(cdir, "expected_bad_score.jsonl"), sexp)
        files += ["bad_inputs.jsonl", "expected_bad.jsonl", "bad_score_inputs.jsonl", "expected_bad_score.jsonl"]

    if spec.get("unknown"):
        # format 2 without unk: a text token that is not in the vocabulary is an error for its line only
        assert sp.get("unk") is None and len(texts) >= 3
        assert encoded("zz") is None and encoded("qq") is None
        good = [c[0] for c in chosen[:2]]
        lines = [
            json.dumps({"source_ids": good[0]}),
            json.dumps({"source": texts[0] + " zz"}),
            json.dumps({"source": texts[1]}),
            json.dumps({"source": "qq " + texts[0]}),
            json.dumps({"source_ids": good[1]}),
            json.dumps({"source": texts[2]}),
        ]
        bad_lines = {2, 4}
        exp = []
        for i, ln in enumerate(lines, 1):
            if i in bad_lines:
                exp.append({"error": True, "line": i, "input": ln})
                continue
            d = json.loads(ln)
            exp.append(greedy_expect(ref, d["source_ids"] if "source_ids" in d else encoded(d["source"]), gp, tvocab))
        with open(os.path.join(cdir, "bad_inputs.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(ln + "\n" for ln in lines))
        dump_jsonl(os.path.join(cdir, "expected_bad.jsonl"), exp)
        g0 = greedy_expect(ref, encoded(texts[0]), gp, tvocab)
        target_text = " ".join(g0["tokens"] + (["</s>"] if g0["ended_with_eos"] else []))
        tv_words = [w for w in tvocab if not w.startswith("<")]
        slines = [
            json.dumps({"source": texts[0], "target": target_text}),
            json.dumps({"source": texts[1] + " zz", "target": tv_words[0]}),
            json.dumps({"source_ids": good[0], "target": f"{tv_words[1]} nope {tv_words[2]}"}),
            json.dumps({"source_ids": good[1], "target_ids": sc_in[1]["target_ids"]}),
        ]
        sexp = []
        for i, ln in enumerate(slines, 1):
            if i in (2, 3):
                sexp.append({"error": True, "line": i, "input": ln})
                continue
            d = json.loads(ln)
            src = d["source_ids"] if "source_ids" in d else encoded(d["source"])
            tgt = d["target_ids"] if "target_ids" in d else st.encode_text(d["target"], tvocab, cfg)
            r = st.score(ref, src, tgt)
            sexp.append({"token_log_probs": [round(x, 7) for x in r["token_log_probs"]], "log_prob": r["log_prob"]})
        with open(os.path.join(cdir, "bad_score_inputs.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(ln + "\n" for ln in slines))
        dump_jsonl(os.path.join(cdir, "expected_bad_score.jsonl"), sexp)
        # --format text: an error line is reported on standard error (naming the line) and answered by an
        # empty output line; the exit status is 1
        tlines = [texts[0], texts[0] + " zz", texts[1], "zz", texts[2]]
        tout = [st.output_text(greedy_expect(ref, encoded(t), gp, tvocab)["ids"], tvocab, cfg)
                if encoded(t) is not None else "" for t in tlines]
        with open(os.path.join(cdir, "bad_text_inputs.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(t + "\n" for t in tlines))
        with open(os.path.join(cdir, "expected_bad_text_output.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(t + "\n" for t in tout))
        files += ["bad_inputs.jsonl", "expected_bad.jsonl", "bad_score_inputs.jsonl", "expected_bad_score.jsonl",
                  "bad_text_inputs.txt", "expected_bad_text_output.txt"]

    case = {
        "kind": "valid",
        "name": name,
        "description": spec["desc"],
        "config": cfg,
        "seed": seed,
        "weight_seed": wseed,
        "storage": {"dtypes": spec.get("dtype", "F32"), "absent_biases": drop,
                    "safetensors_metadata": spec.get("metadata") is not None, "vocab_files": True},
        "greedy": gp,
        "beam": bp,
        "greedy_min_gap": [c[1]["min_gap"] for c in chosen],
        "beam_margin": [c[2]["margin"] for c in chosen],
        "greedy_ended_with_eos": sum(c[1]["ended_with_eos"] for c in chosen),
        "n_inputs": len(chosen),
        "files": files,
        "near_tie_notes": [],
        "eos_tuning": eos_info,
        "input_draws": tries,
    }
    if dp is not None:
        case["defaults"] = dict(dp, flags_absent=["--beam-size", "--min-length", "--n-best", "--length-penalty"])
    if spec.get("unknown"):
        case["bad_text_error_lines"] = [2, 4]
    if cfg.get("suppress_ids"):
        # evidence that suppress_ids matter here: greedy outputs that differ when nothing is suppressed
        free = copy.deepcopy(ref)
        free.cfg["suppress_ids"] = []
        case["greedy_changed_by_suppress_ids"] = sum(
            st.greedy(free, c[0], gp.get("max_length"), gp.get("min_length") or 0)["ids"] != c[1]["ids"]
            for c in chosen)
    with open(os.path.join(cdir, "case.json"), "w", encoding="utf-8") as f:
        json.dump(case, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return f"{name}: {len(chosen)} inputs ({tries} draws), {case['greedy_ended_with_eos']} greedy end with eos"


# ----------------------------------------------------------------------------- invalid cases

BASE = dict(cell="gru", source_vocab_size=12, target_vocab_size=14, embedding_size=6, hidden_size=8,
            bridge="copy", attention="bahdanau", attention_size=5)


def entries_for(cfg, seed, validate=True):
    m = st.Seq2Seq(cfg, validate=validate)
    init_weights(m, seed)
    return [(k, "F32", list(v.shape), st.tensor_bytes(v, "F32")) for k, v in m.state_dict().items()]


def raw_safetensors(header, body):
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    return struct.pack("<Q", len(hb)) + hb + body


def header_of(entries):
    h, off = {}, 0
    for name, dt, shape, raw in entries:
        h[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    return h, b"".join(e[3] for e in entries)


def move_last(entries, name):
    e = [x for x in entries if x[0] == name]
    return [x for x in entries if x[0] != name] + e


def invalid_specs():
    """(name, why, mentions, config changes, build(entries, cfg) -> safetensors bytes, vocab tweak)."""
    specs = []

    def add(name, why, mentions, cfg_over=None, build=None, vocab=None, validate=True, explicit=True,
            tensor_over=None):
        specs.append(dict(name=name, why=why, mentions=mentions, cfg_over=cfg_over or {}, build=build,
                          vocab=vocab, validate=validate, explicit=explicit, tensor_over=tensor_over))

    def missing(entries, cfg):
        return st.build_safetensors([e for e in entries if e[0] != "decoder.rnn.weight_hh_l0"])
    add("i01_missing_weight", "decoder.rnn.weight_hh_l0 is missing", ["decoder.rnn.weight_hh_l0"], build=missing)

    def wrong_shape(entries, cfg):
        out = []
        for n, dt, shape, raw in entries:
            if n == "decoder.attention.query.weight":
                t = torch.randn(shape[0], shape[1] + 1, generator=torch.Generator().manual_seed(41))
                out.append((n, dt, list(t.shape), st.tensor_bytes(t, "F32")))
            else:
                out.append((n, dt, shape, raw))
        return st.build_safetensors(out)
    add("i02_wrong_shape", "decoder.attention.query.weight has shape (5, 9) instead of (5, 8)",
        ["decoder.attention.query.weight"], build=wrong_shape)

    def unused(entries, cfg):
        t = torch.randn(8, 8, generator=torch.Generator().manual_seed(42))
        return st.build_safetensors(entries + [("bridge.0.weight", "F32", [8, 8], st.tensor_bytes(t, "F32"))])
    add("i03_unused_tensor", "bridge.0.weight is present but the bridge is copy", ["bridge.0.weight"], build=unused)

    def i32(entries, cfg):
        out = []
        for n, dt, shape, raw in entries:
            if n == "encoder.embedding.weight":
                t = torch.randint(-3, 4, shape, dtype=torch.int32, generator=torch.Generator().manual_seed(43))
                out.append((n, "I32", shape, t.numpy().astype("<i4").tobytes()))
            else:
                out.append((n, dt, shape, raw))
        return st.build_safetensors(out)
    add("i04_dtype_i32", "encoder.embedding.weight is stored as I32", ["encoder.embedding.weight", "I32"], build=i32)

    def out_of_range(entries, cfg):
        entries = move_last(entries, "decoder.output.weight")
        h, body = header_of(entries)
        a, b = h["decoder.output.weight"]["data_offsets"]
        h["decoder.output.weight"]["data_offsets"] = [a + 64, b + 64]
        return raw_safetensors(h, body)
    add("i05_offsets_out_of_range", "decoder.output.weight's data_offsets run 64 bytes past the data section",
        ["decoder.output.weight"], build=out_of_range)

    def overlap(entries, cfg):
        entries = move_last(entries, "encoder.rnn.bias_hh_l0")
        h, body = header_of(entries)
        n = len(entries[-1][3])
        body = body[:-n]
        h["encoder.rnn.bias_hh_l0"]["data_offsets"] = list(h["encoder.rnn.bias_ih_l0"]["data_offsets"])
        return raw_safetensors(h, body)
    add("i06_overlapping_offsets", "encoder.rnn.bias_hh_l0 occupies the same bytes as encoder.rnn.bias_ih_l0",
        ["encoder.rnn.bias_hh_l0", "encoder.rnn.bias_ih_l0", "overlap"], build=overlap)

    def short(entries, cfg):
        entries = move_last(entries, "encoder.embedding.weight")
        h, body = header_of(entries)
        E = cfg["embedding_size"]
        body = body[:-4 * E]
        a, b = h["encoder.embedding.weight"]["data_offsets"]
        h["encoder.embedding.weight"]["data_offsets"] = [a, b - 4 * E]
        return raw_safetensors(h, body)
    add("i07_offsets_not_matching_shape", "encoder.embedding.weight's data_offsets hold one row less than its shape",
        ["encoder.embedding.weight"], build=short)

    add("i08_target_vocab_line_count", "target.vocab has 13 lines for target_vocab_size 14",
        ["target.vocab", "target_vocab_size"], vocab="short_target")

    add("i09_copy_bridge_bidirectional", "bridge copy with a bidirectional encoder",
        ["bridge", "bidirectional", "copy"], cfg_over=dict(bidirectional_encoder=True), validate=False)

    add("i10_luong_dot_d_ne_h", "luong_dot with a bidirectional encoder (D = 16, H = 8)",
        ["luong_dot", "attention", "hidden_size", "bidirectional"],
        cfg_over=dict(bidirectional_encoder=True, bridge="linear_tanh", attention="luong_dot"), validate=False)

    add("i11_tie_e_ne_h", "tie_target_embeddings with embedding_size 6 != hidden_size 8",
        ["tie_target_embeddings", "embedding_size", "hidden_size"], cfg_over=dict(tie_target_embeddings=True),
        validate=False)

    add("i12_unknown_cell", "cell \"transformer\" is not one of rnn_tanh, gru, lstm", ["cell", "transformer"],
        cfg_over=dict(cell="transformer"), validate=False)

    def long_header(entries, cfg):
        data = st.build_safetensors(entries)
        return struct.pack("<Q", len(data) + 1000) + data[8:]
    add("i13_header_length_past_end", "the safetensors header length is larger than the file",
        ["header", "model.safetensors", "safetensors"], build=long_header)

    add("i14_copy_bridge_layer_mismatch", "bridge copy with encoder_layers 2 and decoder_layers 1",
        ["bridge", "decoder_layers", "encoder_layers", "copy"], cfg_over=dict(encoder_layers=2), validate=False)

    add("i15_missing_hidden_size", "config.json has no hidden_size", ["hidden_size"], cfg_over=dict(hidden_size=None),
        validate=False, explicit=False)

    add("i16_unknown_attention", "attention \"multihead\" is not a known attention", ["attention", "multihead"],
        cfg_over=dict(attention="multihead"), validate=False)

    # ---- format 2
    add("i17_format2_key_in_format1", "source_append_eos (a format 2 key) in a format_version 1 file",
        ["source_append_eos"], cfg_over=dict(source_append_eos=True), validate=False, tensor_over={})
    add("i18_bridge_cell_linear_gru", "bridge_cell linear with a gru cell (lstm only)", ["bridge_cell"],
        cfg_over=dict(format_version=2, bridge="linear", bridge_cell="linear"), validate=False,
        tensor_over=dict(format_version=2, bridge="linear"))
    add("i19_input_feed_context_luong", "decoder_input_feed context with luong_general (allowed: previous_output, none)",
        ["decoder_input_feed"], cfg_over=dict(format_version=2, attention="luong_general", decoder_input_feed="context"),
        validate=False, tensor_over={})
    add("i20_copy_bridge_d_ne_h", "bridge copy with encoder_hidden_size 6 (D = 6, H = 8)", ["copy"],
        cfg_over=dict(format_version=2, encoder_hidden_size=6), validate=False, tensor_over={})
    add("i21_suppress_id_out_of_range", "suppress_ids holds 14, outside the target vocabulary (14 ids)",
        ["suppress_ids"], cfg_over=dict(format_version=2, suppress_ids=[3, 14]), validate=False, tensor_over={})
    add("i22_tie_e_ne_projection", "tie_target_embeddings with embedding_size 6 != output_projection_size 7",
        ["tie_target_embeddings"], cfg_over=dict(format_version=2, output_projection_size=7, tie_target_embeddings=True),
        validate=False, tensor_over={})

    def no_bridge_cell(entries, cfg):
        return st.build_safetensors([e for e in entries if e[0] != "bridge_cell.0.weight"])
    lstm_cell_linear = dict(format_version=2, cell="lstm", bridge="linear", bridge_cell="linear")
    add("i23_missing_bridge_cell_weight", "lstm, linear bridge with bridge_cell linear, bridge_cell.0.weight missing",
        ["bridge_cell.0.weight"], cfg_over=lstm_cell_linear, build=no_bridge_cell, tensor_over=lstm_cell_linear)
    add("i24_default_beam_exceeds_choosable",
        "decoding_defaults.beam_size 3 but suppress_ids leave 2 choosable ids (14 - 11 suppressed - eos)",
        ["beam_size", "decoding_defaults"],
        cfg_over=dict(format_version=2, suppress_ids=list(range(3, 14)), decoding_defaults={"beam_size": 3}),
        validate=False, tensor_over={})
    return specs


def make_invalid(spec, out_root, idx):
    cdir = os.path.join(out_root, spec["name"])
    shutil.rmtree(cdir, ignore_errors=True)
    mdir = os.path.join(cdir, "model")
    os.makedirs(mdir)
    cfg = st.make_config(**BASE)
    build_cfg = dict(cfg)
    over = spec["cfg_over"]
    if spec["tensor_over"] is not None:
        tensor_cfg = dict(cfg, **spec["tensor_over"])
    elif "cell" in over or "attention" in over or "hidden_size" in over:
        tensor_cfg = dict(cfg)   # tensors of the base (gru, bahdanau) model
    else:
        tensor_cfg = dict(cfg, **over)
    for k, v in over.items():
        if v is None:
            build_cfg.pop(k, None)
        else:
            build_cfg[k] = v
    entries = entries_for(tensor_cfg, 4000 + idx, validate=spec["validate"])
    data = spec["build"](entries, tensor_cfg) if spec["build"] else st.build_safetensors(entries)
    with open(os.path.join(mdir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(build_cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(mdir, "model.safetensors"), "wb") as f:
        f.write(data)
    sp = cfg["special_tokens"]
    sv = synthetic_vocab(cfg["source_vocab_size"], "s", sp)
    tv = synthetic_vocab(cfg["target_vocab_size"], "t", sp)
    if spec["vocab"] == "short_target":
        tv = tv[:-1]
    for fn, v in (("source.vocab", sv), ("target.vocab", tv)):
        with open(os.path.join(mdir, fn), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(t + "\n" for t in v))
    dump_jsonl(os.path.join(cdir, "inputs.jsonl"), [{"source_ids": [4, 5, 6]}, {"source_ids": [7]}])
    case = {"kind": "invalid", "name": spec["name"], "why": spec["why"], "stderr_mentions_any": spec["mentions"],
            "spec_explicit": spec["explicit"], "config": build_cfg, "files": ["inputs.jsonl"]}
    with open(os.path.join(cdir, "case.json"), "w", encoding="utf-8") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    # our own loader must refuse it too
    try:
        st.load_model_dir(mdir)
    except Exception as e:  # noqa: BLE001
        return f"{spec['name']}: refused by seq2seq_torch ({str(e)[:90]})"
    raise RuntimeError(f"{spec['name']}: seq2seq_torch.load_model_dir accepted an invalid model")


README = """# Golden cases of this repository

Generated by `tools/make_fixtures.py` (PyTorch, float64 expectations from the stored float32 weights,
see `tools/seq2seq_torch.py`); the format is exactly that of the shared fixtures (`shared/fixtures/README.md`),
so `python3 shared/fixtures/check.py Tests/Fixtures/golden --cli .build/release/seq2seq` checks an engine.
`tools/check_torch_vs_fixtures.py` re-verifies them against the PyTorch reference.

Extra files used here and understood by check.py:

- `bad_inputs.jsonl` / `expected_bad.jsonl`: translate input with malformed lines. An expected line
  `{"error": true, "line": N, ...}` means the engine must answer that line with `{"error": "..."}` naming line N;
  other lines are greedy expectations. Exit status must be 1.
- `bad_score_inputs.jsonl` / `expected_bad_score.jsonl`: the same for `seq2seq score`.
- `"kind": "invalid"` cases: `model/` must be refused (non-zero exit below 128) with a message on stderr that
  contains one of `stderr_mentions_any`; `why` says what is wrong.

Format 2 (MODEL.md "Format version 2") adds two optional steps, understood by this repository's
`scripts/check_fixtures.py` (not by the shared check.py):

- `expected_defaults.jsonl`: `inputs.jsonl` translated with no `--beam-size`, `--min-length`, `--n-best` or
  `--length-penalty` (only `--max-length`/`--batch-size` when the case sets them), so the model's
  `decoding_defaults` apply; `case.json`'s `"defaults"` holds the options the expectations were computed with.
- `bad_text_inputs.txt` / `expected_bad_text_output.txt`: `--format text` input where the lines listed in
  `case.json`'s `"bad_text_error_lines"` cannot be tokenized (no `unk`): each is reported on stderr naming its
  line and answered by an empty output line; exit status 1.

Inputs are given as the user gives them: with `source_append_eos` the expectations include the appended `eos`
(attention rows of length S + 1), the input files do not.

## Cases

{rows}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "Tests", "Fixtures", "golden"))
    ap.add_argument("--only", help="comma-separated name substrings: make only the cases whose name has one")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    rows = []
    only = a.only.split(",") if a.only else None

    def wanted(name):
        return only is None or any(o in name for o in only)
    for i, spec in enumerate(VALID):
        if wanted(spec["name"]):
            print(make_valid(spec, a.out, i), flush=True)
        rows.append(f"| {spec['name']} | {spec['desc']} |")
    for i, spec in enumerate(invalid_specs()):
        if wanted(spec["name"]):
            print(make_invalid(spec, a.out, i), flush=True)
        rows.append(f"| {spec['name']} | invalid: {spec['why']} |")
    # The decoding-options cases (o01_..., made by tools/make_option_fixtures.py) are listed too.
    import make_option_fixtures  # noqa: E402
    rows += make_option_fixtures.readme_rows()
    with open(os.path.join(a.out, "README.md"), "w", encoding="utf-8") as f:
        f.write(README.replace("{rows}", "| case | what it covers |\n|---|---|\n" + "\n".join(rows)))


if __name__ == "__main__":
    main()
