#!/usr/bin/env python3
"""Reference PyTorch implementation of the seq2seq-rnn model (docs: MODEL.md, format versions 1 and 2).

Developer tool only: the Swift engine and its tests never need PyTorch.

- `Seq2Seq(config)` is an nn.Module whose `state_dict()` keys are exactly MODEL.md's tensor names.
- `encode` / `step` / `score_batch` run batched (padded) data; they are used by training.
- `score`, `greedy`, `beam_search` decode one sentence by MODEL.md's rules (they append `eos` to the source
  with `source_append_eos` and never choose `suppress_ids`). Call them on a float64 copy
  (`to_reference(model)`) to compute golden expectations.
- Format 2 (MODEL.md "Format version 2"): every optional key is read with `f2(cfg, key)`, which gives its
  default when absent, so a format-2 config without format-2 keys is computed exactly as format 1.
- `save_model_dir` / `load_model_dir` write and read a model directory (config.json, model.safetensors,
  source.vocab, target.vocab); `write_safetensors` / `read_safetensors` are a small self-contained
  safetensors codec (F32, F16, BF16, F64; optional `__metadata__`).
"""
import copy
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = ("rnn_tanh", "gru", "lstm")
BRIDGES = ("copy", "linear_tanh", "zeros")
BRIDGES_2 = BRIDGES + ("linear",)
ATTENTIONS = ("none", "bahdanau", "luong_dot", "luong_general", "luong_concat")
TOKENIZERS = ("whitespace", "characters")
LUONG = ("luong_dot", "luong_general", "luong_concat")
DEFAULT_SPECIALS = {"pad": 0, "bos": 1, "eos": 2, "unk": 3}
FORMAT1_KEYS = ("format", "format_version", "cell", "source_vocab_size", "target_vocab_size", "embedding_size",
                "hidden_size", "encoder_layers", "decoder_layers", "bidirectional_encoder", "bridge", "attention",
                "attention_size", "tie_target_embeddings", "tokenizer", "special_tokens")
# Format 2's optional keys (MODEL.md "Format version 2") and their defaults. decoder_input_feed's default
# depends on the attention (None here; see input_feed()).
FORMAT2_DEFAULTS = {
    "encoder_hidden_size": None,
    "bridge_input": "summary",
    "bridge_activation": "tanh",
    "bridge_cell": "zeros",
    "decoder_input_feed": None,
    "combine_activation": "tanh",
    "decoder_embedding_activation": "none",
    "output_projection_size": None,
    "source_append_eos": False,
    "suppress_ids": [],
    "detokenize_skip_ids": [],
    "decoding_defaults": None,
}
FORMAT2_KEYS = tuple(FORMAT2_DEFAULTS)
BRIDGE_INPUTS = ("summary", "layer", "stacked")
ACTIVATIONS = ("tanh", "relu", "none")
BRIDGE_CELLS = ("zeros", "hidden", "linear")
INPUT_FEEDS = ("context", "previous_output", "summary", "none")
# decoder_input_feed values each attention allows; the first is format 1's choice (the default).
ALLOWED_FEEDS = {"bahdanau": ("context",), "luong_dot": ("previous_output", "none"),
                 "luong_general": ("previous_output", "none"), "luong_concat": ("previous_output", "none"),
                 "none": ("summary", "previous_output", "none")}


def f2(cfg, key):
    """A format-2 key's value, or its default when absent."""
    v = cfg.get(key)
    return FORMAT2_DEFAULTS[key] if v is None else v


def input_feed(cfg):
    """decoder_input_feed, with format 1's choice for the attention when absent."""
    return cfg.get("decoder_input_feed") or ALLOWED_FEEDS[cfg["attention"]][0]


def enc_hidden(cfg):
    """He: the encoder's hidden size per direction."""
    return cfg.get("encoder_hidden_size") or cfg["hidden_size"]


# ----------------------------------------------------------------------------- config

def make_config(cell="gru", source_vocab_size=40, target_vocab_size=40, embedding_size=16, hidden_size=16,
                encoder_layers=1, decoder_layers=1, bidirectional_encoder=False, bridge="copy",
                attention="bahdanau", attention_size=None, tie_target_embeddings=False, tokenizer="whitespace",
                special_tokens=None, format_version=None, **format2):
    """A config dict. Format-2 keys go in `format2` (written after the format-1 keys, in MODEL.md's order);
    the format is 2 when any is given, when pad or unk is absent or bos = eos, or when asked for."""
    unknown = set(format2) - set(FORMAT2_KEYS)
    if unknown:
        raise TypeError(f"make_config: unknown keys {sorted(unknown)}")
    sp = dict(special_tokens or DEFAULT_SPECIALS)
    if format_version is None:
        uses2 = bool(format2) or "pad" not in sp or "unk" not in sp or sp.get("bos") == sp.get("eos") \
            or bridge == "linear"
        format_version = 2 if uses2 else 1
    cfg = {
        "format": "seq2seq-rnn",
        "format_version": format_version,
        "cell": cell,
        "source_vocab_size": source_vocab_size,
        "target_vocab_size": target_vocab_size,
        "embedding_size": embedding_size,
        "hidden_size": hidden_size,
        "encoder_layers": encoder_layers,
        "decoder_layers": decoder_layers,
        "bidirectional_encoder": bidirectional_encoder,
        "bridge": bridge,
        "attention": attention,
        "tie_target_embeddings": tie_target_embeddings,
        "tokenizer": tokenizer,
        "special_tokens": sp,
    }
    if attention in ("bahdanau", "luong_concat"):
        cfg["attention_size"] = attention_size if attention_size is not None else hidden_size
    for k in FORMAT2_KEYS:
        if k in format2:
            cfg[k] = format2[k]
    return cfg


def validate_config(cfg):
    """Raise ValueError naming the key for a config that MODEL.md refuses (formats 1 and 2)."""
    def need(key, ok, what):
        if not ok:
            raise ValueError(f"config.json: \"{key}\" {what}, found {cfg.get(key)!r}")

    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    need("format", cfg.get("format") == "seq2seq-rnn", "must be \"seq2seq-rnn\"")
    need("format_version", cfg.get("format_version") in (1, 2), "must be 1 or 2")
    v2 = cfg["format_version"] == 2
    for k in cfg:
        if k in FORMAT2_KEYS and not v2:
            raise ValueError(f"config.json: \"{k}\" is a format 2 key; it needs \"format_version\": 2")
        if k not in FORMAT1_KEYS and k not in FORMAT2_KEYS:
            raise ValueError(f"config.json: unknown key \"{k}\"")
    need("cell", cfg.get("cell") in CELLS, f"must be one of {CELLS}")
    bridges = BRIDGES_2 if v2 else BRIDGES
    need("bridge", cfg.get("bridge") in bridges, f"must be one of {bridges}")
    need("attention", cfg.get("attention") in ATTENTIONS, f"must be one of {ATTENTIONS}")
    need("tokenizer", cfg.get("tokenizer", "whitespace") in TOKENIZERS, f"must be one of {TOKENIZERS}")
    for k in ("source_vocab_size", "target_vocab_size", "embedding_size", "hidden_size", "encoder_layers",
              "decoder_layers"):
        need(k, is_int(cfg.get(k)) and cfg.get(k) > 0, "must be a positive integer")
    for k in ("encoder_hidden_size", "output_projection_size"):
        if cfg.get(k) is not None:
            need(k, is_int(cfg[k]) and cfg[k] > 0, "must be a positive integer")
    if cfg["attention"] in ("bahdanau", "luong_concat"):
        v = cfg.get("attention_size")
        need("attention_size", is_int(v) and v > 0, "must be a positive integer for this attention")
    H = cfg["hidden_size"]
    D = enc_out_size(cfg)
    for k, allowed in (("bridge_input", BRIDGE_INPUTS), ("bridge_activation", ACTIVATIONS),
                       ("bridge_cell", BRIDGE_CELLS), ("combine_activation", ("tanh", "none")),
                       ("decoder_embedding_activation", ("none", "relu")), ("decoder_input_feed", INPUT_FEEDS)):
        if cfg.get(k) is not None:
            need(k, cfg[k] in allowed, f"must be one of {allowed}")
    if cfg["bridge"] == "copy":
        if not v2:
            need("bidirectional_encoder", not cfg.get("bidirectional_encoder"), "must be false with bridge \"copy\"")
        need("decoder_layers", cfg["decoder_layers"] == cfg["encoder_layers"],
             f"must equal encoder_layers ({cfg['encoder_layers']}) with bridge \"copy\"")
        need("bridge", D == H, f"copy requires the encoder output size D ({D}) = hidden_size ({H})")
    if cfg["bridge"] != "linear":
        for k in ("bridge_input", "bridge_activation", "bridge_cell"):
            need(k, f2(cfg, k) == FORMAT2_DEFAULTS[k], "applies to bridge \"linear\" only")
    else:
        if f2(cfg, "bridge_input") == "layer":
            need("bridge_input", cfg["decoder_layers"] == cfg["encoder_layers"],
                 f"\"layer\" requires encoder_layers ({cfg['encoder_layers']}) = decoder_layers")
        if cfg["cell"] != "lstm":
            need("bridge_cell", f2(cfg, "bridge_cell") == "zeros", "applies to lstm cells only")
    if cfg.get("decoder_input_feed") is not None:
        need("decoder_input_feed", cfg["decoder_input_feed"] in ALLOWED_FEEDS[cfg["attention"]],
             f"is not allowed with attention {cfg['attention']} (allowed: {ALLOWED_FEEDS[cfg['attention']]})")
    if cfg["attention"] not in LUONG:
        need("combine_activation", f2(cfg, "combine_activation") == "tanh", "applies to Luong attention only")
    if cfg["attention"] == "luong_dot":
        need("attention", D == H, f"luong_dot requires encoder output size D ({D}) = hidden_size ({H})")
    if cfg.get("tie_target_embeddings"):
        O = cfg.get("output_projection_size") or H
        what = "output_projection_size" if cfg.get("output_projection_size") else "hidden_size"
        need("tie_target_embeddings", cfg["embedding_size"] == O,
             f"requires embedding_size ({cfg['embedding_size']}) = {what} ({O})")
    Vs, Vt = cfg["source_vocab_size"], cfg["target_vocab_size"]
    sp = cfg.get("special_tokens", DEFAULT_SPECIALS)
    for k in ("pad", "bos", "eos", "unk"):
        v = sp.get(k)
        if v is None and v2 and k in ("pad", "unk"):
            continue
        limit = Vt if (v2 and k in ("bos", "eos")) else min(Vs, Vt)
        if not (is_int(v) and 0 <= v < limit):
            raise ValueError(f"config.json: special_tokens.{k} out of range, found {v!r}")
    if not v2:
        need("special_tokens", sp["bos"] != sp["eos"], "bos = eos needs format_version 2")
    if cfg.get("source_append_eos") is not None:
        need("source_append_eos", isinstance(cfg["source_append_eos"], bool), "must be true or false")
        if cfg["source_append_eos"]:
            need("source_append_eos", sp["eos"] < Vs, f"requires special_tokens.eos ({sp['eos']}) < source_vocab_size")
    for k in ("suppress_ids", "detokenize_skip_ids"):
        ids = cfg.get(k)
        if ids is None:
            continue
        need(k, isinstance(ids, list) and all(is_int(i) and 0 <= i < Vt for i in ids),
             f"must be a list of target ids (0..{Vt - 1})")
        need(k, len(set(ids)) == len(ids), "holds an id twice")
    choosable = Vt - len(set(f2(cfg, "suppress_ids")) | {sp["eos"]})
    need("suppress_ids", choosable >= 1, "leaves no id but eos to choose")
    dd = cfg.get("decoding_defaults")
    if dd is not None:
        need("decoding_defaults", isinstance(dd, dict) and set(dd) <= {"beam_size", "min_length"},
             "must be an object with beam_size and/or min_length")
        if "beam_size" in dd:
            k = dd["beam_size"]
            limit = choosable if cfg.get("suppress_ids") else Vt
            need("decoding_defaults", is_int(k) and 1 <= k <= limit, f"beam_size must be 1..{limit}")
        if "min_length" in dd:
            need("decoding_defaults", is_int(dd["min_length"]) and dd["min_length"] >= 0, "min_length must be >= 0")


def enc_out_size(cfg):
    return enc_hidden(cfg) * (2 if cfg["bidirectional_encoder"] else 1)


# ----------------------------------------------------------------------------- model

def _rnn(cell, input_size, hidden, layers, bidirectional):
    kw = dict(num_layers=layers, bias=True, batch_first=True, bidirectional=bidirectional)
    if cell == "rnn_tanh":
        return nn.RNN(input_size, hidden, nonlinearity="tanh", **kw)
    if cell == "gru":
        return nn.GRU(input_size, hidden, **kw)
    return nn.LSTM(input_size, hidden, **kw)


class _Bias(nn.Module):
    """`decoder.output` when the target embeddings are tied: only the bias."""

    def __init__(self, n):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n))


def _act(name, x):
    """MODEL.md's `act`: tanh, relu (max(0, v)) or none (identity), element-wise."""
    if name == "tanh":
        return torch.tanh(x)
    if name == "relu":
        return torch.relu(x)
    return x


class Seq2Seq(nn.Module):
    def __init__(self, cfg, validate=True):
        super().__init__()
        if validate:
            validate_config(cfg)
        self.cfg = copy.deepcopy(cfg)
        c = self.cfg
        E, H, D = c["embedding_size"], c["hidden_size"], enc_out_size(c)
        He = enc_hidden(c)
        Vs, Vt = c["source_vocab_size"], c["target_vocab_size"]
        Le, Ld = c["encoder_layers"], c["decoder_layers"]
        self.att = c["attention"]
        self.cell = c["cell"]
        self.feed = input_feed(c)
        self.encoder = nn.Module()
        self.encoder.embedding = nn.Embedding(Vs, E)
        self.encoder.rnn = _rnn(c["cell"], E, He, Le, c["bidirectional_encoder"])
        if c["bridge"] == "linear_tanh":
            self.bridge = nn.ModuleList([nn.Linear(D, H) for _ in range(Ld)])
        elif c["bridge"] == "linear":
            # z_k: u or x_k^h (D), or [x_0^h; ...; x_{Le-1}^h] (Le*D)
            Z = Le * D if f2(c, "bridge_input") == "stacked" else D
            self.bridge = nn.ModuleList([nn.Linear(Z, H) for _ in range(Ld)])
            if self.cell == "lstm" and f2(c, "bridge_cell") == "linear":
                self.bridge_cell = nn.ModuleList([nn.Linear(Z, H) for _ in range(Ld)])
        self.decoder = nn.Module()
        self.decoder.embedding = nn.Embedding(Vt, E)
        F = {"context": D, "summary": D, "previous_output": H, "none": 0}[self.feed]
        self.decoder.rnn = _rnn(c["cell"], E + F, H, Ld, False)
        if self.att != "none":
            a = nn.Module()
            if self.att == "bahdanau":
                A = c["attention_size"]
                a.key, a.query, a.energy = nn.Linear(D, A), nn.Linear(H, A), nn.Linear(A, 1)
            elif self.att == "luong_general":
                a.key = nn.Linear(D, H)
            elif self.att == "luong_concat":
                A = c["attention_size"]
                a.query, a.key, a.energy = nn.Linear(H, A), nn.Linear(D, A), nn.Linear(A, 1)
            if self.att in LUONG:
                a.combine = nn.Linear(D + H, H)
            self.decoder.attention = a
        O = c.get("output_projection_size")
        if O:
            self.decoder.output_projection = nn.Linear(H, O)
        if c["tie_target_embeddings"]:
            self.decoder.output = _Bias(Vt)
        else:
            self.decoder.output = nn.Linear(O or H, Vt)
        sp = c["special_tokens"]
        self.pad, self.bos, self.eos, self.unk = sp.get("pad"), sp["bos"], sp["eos"], sp.get("unk")

    @property
    def suppress(self):
        """suppress_ids: never chosen by greedy or beam search."""
        return list(f2(self.cfg, "suppress_ids"))

    def encoder_source(self, source_ids):
        """The source as the encoder reads it: with source_append_eos, eos appended."""
        return list(source_ids) + ([self.eos] if f2(self.cfg, "source_append_eos") else [])

    # -- pieces ---------------------------------------------------------------

    def encode(self, src, lengths):
        """src (B, S) long (padded), lengths (B,) long. Returns dict with memory (B,S,D), mask (B,S),
        u (B,D), state (decoder initial state), keys (attention keys), hfeed (B,H) zeros (o_0)."""
        c = self.cfg
        B, S = src.shape
        x = self.encoder.embedding(src)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, hn = self.encoder.rnn(packed)
        mem, _ = pad_packed_sequence(out, batch_first=True, total_length=S)
        if self.cell == "lstm":
            h, cc = hn
        else:
            h, cc = hn, None
        Le = c["encoder_layers"]
        # x_k^h, x_k^c: layer k's final states, [forward final; backward final] when bidirectional.
        # PyTorch orders h_n as (layer, direction): layer k forward at 2k, backward at 2k + 1.
        if c["bidirectional_encoder"]:
            xh = [torch.cat([h[2 * k], h[2 * k + 1]], dim=-1) for k in range(Le)]
            xc = [torch.cat([cc[2 * k], cc[2 * k + 1]], dim=-1) for k in range(Le)] if cc is not None else None
        else:
            xh = [h[k] for k in range(Le)]
            xc = [cc[k] for k in range(Le)] if cc is not None else None
        u = xh[-1]
        H, Ld = c["hidden_size"], c["decoder_layers"]
        if c["bridge"] == "copy":
            s_h = torch.stack(xh)
            s_c = torch.stack(xc) if xc is not None else None
        elif c["bridge"] == "linear_tanh":
            s_h = torch.stack([torch.tanh(lin(u)) for lin in self.bridge])
            s_c = torch.zeros_like(s_h) if self.cell == "lstm" else None
        elif c["bridge"] == "linear":
            form, act = f2(c, "bridge_input"), f2(c, "bridge_activation")

            def z(finals, k):
                if form == "summary":
                    return finals[-1]
                if form == "layer":
                    return finals[k]
                return torch.cat(finals, dim=-1)  # stacked
            s_h = torch.stack([_act(act, lin(z(xh, k))) for k, lin in enumerate(self.bridge)])
            s_c = None
            if self.cell == "lstm":
                how = f2(c, "bridge_cell")
                if how == "zeros":
                    s_c = torch.zeros_like(s_h)
                elif how == "hidden":
                    s_c = s_h.clone()
                else:
                    s_c = torch.stack([_act(act, lin(z(xc, k))) for k, lin in enumerate(self.bridge_cell)])
        else:
            s_h = u.new_zeros(Ld, B, H)
            s_c = torch.zeros_like(s_h) if self.cell == "lstm" else None
        state = (s_h.contiguous(), s_c.contiguous()) if self.cell == "lstm" else s_h.contiguous()
        mask = torch.arange(S, device=src.device)[None, :] < lengths[:, None].to(src.device)
        keys = None
        if self.att in ("bahdanau", "luong_general", "luong_concat"):
            keys = self.decoder.attention.key(mem)
        elif self.att == "luong_dot":
            keys = mem
        return {"memory": mem, "mask": mask, "u": u, "state": state, "keys": keys,
                "hfeed": u.new_zeros(B, H)}

    def _top(self, state):
        return (state[0] if self.cell == "lstm" else state)[-1]

    def step(self, y_prev, state, hfeed, enc):
        """One decoder step for B rows. enc: dict with memory, mask, u, keys (rows aligned with y_prev).
        hfeed is o_{t-1} (zeros at t = 1). Returns logits (B,Vt), new state, o_t, attention (B,S) or None."""
        c = self.cfg
        # e_t = act_e(decoder.embedding.weight[y_{t-1}])
        e = _act(f2(c, "decoder_embedding_activation"), self.decoder.embedding(y_prev))
        mem, mask, keys = enc["memory"], enc["mask"], enc["keys"]
        alpha = None
        if self.feed == "context":
            # attention before the RNN, from s_{t-1}^top (bahdanau)
            a = self.decoder.attention
            q = a.query(self._top(state))
            sc = a.energy(torch.tanh(q[:, None, :] + keys)).squeeze(-1)
            alpha = torch.softmax(sc.masked_fill(~mask, float("-inf")), dim=-1)
            ctx = torch.bmm(alpha[:, None, :], mem).squeeze(1)
            inp = torch.cat([e, ctx], dim=-1)
        elif self.feed == "previous_output":
            inp = torch.cat([e, hfeed], dim=-1)
        elif self.feed == "summary":
            inp = torch.cat([e, enc["u"]], dim=-1)
        else:
            inp = e
        out, new_state = self.decoder.rnn(inp[:, None, :], state)
        o = out[:, 0]
        if self.att in LUONG:
            a = self.decoder.attention
            if self.att == "luong_concat":
                sc = a.energy(torch.tanh(a.query(o)[:, None, :] + keys)).squeeze(-1)
            else:
                sc = torch.bmm(keys, o[:, :, None]).squeeze(-1)
            alpha = torch.softmax(sc.masked_fill(~mask, float("-inf")), dim=-1)
            ctx = torch.bmm(alpha[:, None, :], mem).squeeze(1)
            o = _act(f2(c, "combine_activation"), a.combine(torch.cat([ctx, o], dim=-1)))
        # z_t = output_projection(o_t) or o_t
        zt = self.decoder.output_projection(o) if c.get("output_projection_size") else o
        if c["tie_target_embeddings"]:
            logits = zt @ self.decoder.embedding.weight.t() + self.decoder.output.bias
        else:
            logits = self.decoder.output(zt)
        return logits, new_state, o, alpha

    def score_batch(self, src, src_len, tgt_in):
        """Teacher forcing on a padded batch (sources as the encoder reads them, see encoder_source).
        tgt_in (B,T) are the previous tokens (bos first). Returns log-probabilities (B,T,Vt)."""
        enc = self.encode(src, src_len)
        state, hfeed = enc["state"], enc["hfeed"]
        outs = []
        for t in range(tgt_in.shape[1]):
            logits, state, hfeed, _ = self.step(tgt_in[:, t], state, hfeed, enc)
            outs.append(torch.log_softmax(logits, dim=-1))
        return torch.stack(outs, dim=1)


def build_model(cfg):
    return Seq2Seq(cfg)


def to_reference(model):
    """A float64 eval-mode copy whose weights are the float32 weights converted exactly."""
    m = copy.deepcopy(model).float().double()
    m.eval()
    return m


# ----------------------------------------------------------------------------- single-sentence decoding

def _select_state(state, idx, cell):
    if cell == "lstm":
        return (state[0].index_select(1, idx).contiguous(), state[1].index_select(1, idx).contiguous())
    return state.index_select(1, idx).contiguous()


def _expand_enc(enc, n):
    out = {}
    for k, v in enc.items():
        if k in ("state", "hfeed"):
            continue
        out[k] = None if v is None else v.expand(n, *v.shape[1:])
    return out


def _encode_one(model, source_ids):
    """Encodes one source as the encoder reads it (call with model.encoder_source(ids))."""
    dev = next(model.parameters()).device
    src = torch.tensor([source_ids], dtype=torch.long, device=dev)
    return model.encode(src, torch.tensor([len(source_ids)], dtype=torch.long))


@torch.no_grad()
def score(model, source_ids, target_ids):
    """Teacher forcing: list of log p(y_t | y_<t, x) and their sum."""
    enc = _encode_one(model, model.encoder_source(source_ids))
    state, hfeed = enc["state"], enc["hfeed"]
    y = model.bos
    lps = []
    for tok in target_ids:
        logits, state, hfeed, _ = model.step(torch.tensor([y]), state, hfeed, enc)
        lp = torch.log_softmax(logits, dim=-1)[0]
        lps.append(float(lp[tok]))
        y = tok
    return {"token_log_probs": lps, "log_prob": float(sum(lps))}


def default_max_length(source_ids):
    return 2 * len(source_ids) + 10


@torch.no_grad()
def greedy(model, source_ids, max_length=None, min_length=0):
    """Greedy decoding. Returns ids (without eos), log_prob (sum, eos included), token_log_probs,
    attention rows (eos step included; None for attention none), ended_with_eos, gaps."""
    source_ids = model.encoder_source(source_ids)
    if max_length is None:
        max_length = default_max_length(source_ids)
    enc = _encode_one(model, source_ids)
    suppress = model.suppress
    state, hfeed = enc["state"], enc["hfeed"]
    y = model.bos
    ids, lps, att, gaps = [], [], [], []
    ended = False
    for t in range(max_length):
        logits, state, hfeed, alpha = model.step(torch.tensor([y]), state, hfeed, enc)
        lp = torch.log_softmax(logits, dim=-1)[0].cpu().numpy().astype(np.float64)
        rank = lp.copy()
        if len(ids) < min_length:
            rank[model.eos] = -np.inf
        rank[suppress] = -np.inf
        best = int(np.argmax(rank))  # first maximum: lowest id on ties
        srt = np.sort(rank)[::-1]
        gaps.append(float(srt[0] - srt[1]))
        lps.append(float(lp[best]))
        if alpha is not None:
            att.append(alpha[0].cpu().numpy().astype(np.float64).tolist())
        if best == model.eos:
            ended = True
            break
        ids.append(best)
        y = best
    return {"ids": ids, "log_prob": float(sum(lps)), "token_log_probs": lps,
            "attention": att if model.att != "none" else None, "ended_with_eos": ended, "gaps": gaps}


@torch.no_grad()
def beam_search(model, source_ids, beam_size=5, n_best=1, length_penalty=1.0, max_length=None, min_length=0):
    """Beam search by MODEL.md's rules. Returns (n_best hypotheses, margin). Each hypothesis:
    ids, log_prob, score, ended_with_eos, attention, token_log_probs."""
    K = beam_size
    assert 1 <= n_best <= K
    source_ids = model.encoder_source(source_ids)
    if max_length is None:
        max_length = default_max_length(source_ids)
    enc = _encode_one(model, source_ids)
    suppress = model.suppress
    state, hfeed = enc["state"], enc["hfeed"]
    # live hypotheses: (ids, log_prob, token_lps, att_rows)
    live = [([], 0.0, [], [])]
    finished = []
    margin = math.inf
    V = model.cfg["target_vocab_size"]
    for t in range(1, max_length + 1):
        n = len(live)
        e = _expand_enc(enc, n)
        y = torch.tensor([h[0][-1] if h[0] else model.bos for h in live])
        logits, new_state, new_hfeed, alpha = model.step(y, state, hfeed, e)
        lp = torch.log_softmax(logits, dim=-1).cpu().numpy().astype(np.float64)  # (n, V)
        base = np.array([h[1] for h in live])[:, None]
        total = base + lp
        rank = total.copy()
        for i, h in enumerate(live):
            if len(h[0]) < min_length:
                rank[i, model.eos] = -np.inf
        rank[:, suppress] = -np.inf
        flat = rank.reshape(-1)
        hyp_idx = np.repeat(np.arange(n), V)
        tok_idx = np.tile(np.arange(V), n)
        order = np.lexsort((tok_idx, hyp_idx, -flat))
        next_live, parents = [], []
        stop_pos = None
        for pos, f in enumerate(order):
            i, v = int(hyp_idx[f]), int(tok_idx[f])
            if flat[f] == -np.inf:
                break
            h = live[i]
            row = alpha[i].cpu().numpy().astype(np.float64).tolist() if alpha is not None else None
            tlp = float(lp[i, v])
            atts = h[3] + ([row] if row is not None else [])
            if v == model.eos:
                finished.append((h[0], float(total[i, v]), h[2] + [tlp], atts, True))
            else:
                next_live.append((h[0] + [v], float(total[i, v]), h[2] + [tlp], atts))
                parents.append(i)
                if len(next_live) == K:
                    stop_pos = pos
                    break
        if stop_pos is not None and stop_pos + 1 < len(order):
            nxt = flat[order[stop_pos + 1]]
            if nxt > -np.inf:
                margin = min(margin, float(flat[order[stop_pos]] - nxt))
        if len(finished) >= K:
            break
        if t == max_length:
            for h in next_live:
                finished.append((h[0], h[1], h[2], h[3], False))
            break
        live = next_live
        idx = torch.tensor(parents, dtype=torch.long)
        state = _select_state(new_state, idx, model.cell)
        hfeed = new_hfeed.index_select(0, idx)
    hyps = []
    for (ids, lpsum, tlps, atts, ended) in finished:
        length = len(ids) + (1 if ended else 0)
        hyps.append({"ids": ids, "log_prob": lpsum, "score": lpsum / (length ** length_penalty),
                     "ended_with_eos": ended, "attention": atts if model.att != "none" else None,
                     "token_log_probs": tlps})
    order = sorted(range(len(hyps)), key=lambda j: (-hyps[j]["score"], j))  # stable: earlier finished first
    ranked = [hyps[j] for j in order]
    for a, b in zip(ranked[:n_best], ranked[1:n_best + 1]):
        margin = min(margin, a["score"] - b["score"])
    return ranked[:n_best], margin


# ----------------------------------------------------------------------------- tokenization

def tokenize(text, tokenizer):
    if tokenizer == "characters":
        return list(text)
    return text.split()


def detokenize(tokens, tokenizer):
    return ("" if tokenizer == "characters" else " ").join(tokens)


def encode_text(text, vocab, cfg):
    """Token ids of `text`; an unknown token maps to unk, or (format 2, no unk) raises ValueError naming it."""
    index = {}
    for i, t in enumerate(vocab):
        index.setdefault(t, i)
    unk = cfg["special_tokens"].get("unk")
    ids = []
    for t in tokenize(text, cfg.get("tokenizer", "whitespace")):
        if t in index:
            ids.append(index[t])
        elif unk is None:
            raise ValueError(f"token {t!r} is not in the vocabulary and the model has no unk")
        else:
            ids.append(unk)
    return ids


def output_text(ids, vocab, cfg):
    """Output ids as text: detokenize_skip_ids left out, the rest detokenized."""
    skip = set(f2(cfg, "detokenize_skip_ids"))
    return detokenize([vocab[i] for i in ids if i not in skip], cfg.get("tokenizer", "whitespace"))


# ----------------------------------------------------------------------------- safetensors

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
          "F64": (torch.float64, 8)}


def tensor_bytes(t, dtype):
    t = t.detach().cpu().contiguous().to(DTYPES[dtype][0])
    if dtype == "BF16":
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def build_safetensors(entries, metadata=None):
    """entries: list of (name, dtype string, shape list, raw bytes). Returns the file's bytes.
    The header is padded with spaces to a multiple of 8, like the reference implementation."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    off = 0
    for name, dt, shape, raw in entries:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    return struct.pack("<Q", len(hb)) + hb + b"".join(e[3] for e in entries)


def write_safetensors(path, tensors, dtypes=None, metadata=None):
    """tensors: dict name -> tensor (written in this order). dtypes: dict name -> 'F32'|'F16'|'BF16'|'F64'
    (default F32) or one string for all."""
    entries = []
    for name, t in tensors.items():
        dt = dtypes if isinstance(dtypes, str) else (dtypes or {}).get(name, "F32")
        entries.append((name, dt, list(t.shape), tensor_bytes(t, dt)))
    with open(path, "wb") as f:
        f.write(build_safetensors(entries, metadata))


def read_safetensors(path):
    """Returns (dict name -> float32 tensor, metadata). Raises ValueError (naming the tensor) for a dtype
    other than F32/F16/BF16/F64, data offsets outside the data section, overlapping or not matching the
    shape, and a header that does not fit in the file."""
    with open(path, "rb") as f:
        data = f.read()
    fname = os.path.basename(path)
    if len(data) < 8:
        raise ValueError(f"{fname}: file too short for a safetensors header")
    n = struct.unpack("<Q", data[:8])[0]
    if n > len(data) - 8:
        raise ValueError(f"{fname}: header length {n} is larger than the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as e:
        raise ValueError(f"{fname}: header is not valid JSON ({e})")
    body = data[8 + n:]
    meta = header.pop("__metadata__", None)
    out = {}
    spans = []
    for name, info in header.items():
        dt = info.get("dtype")
        if dt not in DTYPES:
            raise ValueError(f"tensor {name!r}: dtype {dt} is not one of F32, F16, BF16, F64")
        a, b = info["data_offsets"]
        shape = info["shape"]
        if not (0 <= a <= b <= len(body)):
            raise ValueError(f"tensor {name!r}: data_offsets [{a}, {b}] outside the data section "
                             f"({len(body)} bytes)")
        want = DTYPES[dt][1] * int(np.prod(shape, dtype=np.int64))
        if b - a != want:
            raise ValueError(f"tensor {name!r}: data_offsets hold {b - a} bytes, shape {shape} {dt} needs {want}")
        spans.append((a, b, name))
        raw = body[a:b]
        if dt == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            npdt = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}[dt]
            t = torch.from_numpy(np.frombuffer(raw, dtype=npdt).copy())
        out[name] = t.reshape(shape).to(torch.float32)
    spans.sort()
    for (a1, b1, n1), (a2, b2, n2) in zip(spans, spans[1:]):
        if a2 < b1:
            raise ValueError(f"tensors {n1!r} and {n2!r}: data_offsets overlap")
    return out, meta


# ----------------------------------------------------------------------------- model directories

def expected_shapes(cfg, validate=True):
    """name -> shape for every tensor the configuration uses (weights and biases)."""
    m = Seq2Seq(cfg, validate=validate)
    return {k: list(v.shape) for k, v in m.state_dict().items()}


def is_bias(name):
    return name.endswith(".bias") or ".bias_" in name


def check_state_dict(cfg, sd):
    """Validate names and shapes against MODEL.md; raise ValueError naming the tensor."""
    want = expected_shapes(cfg)
    for k in sd:
        if k not in want:
            raise ValueError(f"tensor {k!r} is not used by this configuration")
    for k, shape in want.items():
        if k not in sd:
            if is_bias(k):
                continue
            raise ValueError(f"missing weight {k!r} (expected shape {shape})")
        if list(sd[k].shape) != shape:
            raise ValueError(f"tensor {k!r}: expected shape {shape}, found {list(sd[k].shape)}")


def save_model_dir(model_or_sd, config, directory, source_vocab=None, target_vocab=None, dtype="F32",
                   dtypes=None, drop=(), metadata=None):
    """Write config.json, model.safetensors and the vocabularies (if given) to `directory`.
    dtype: one storage dtype for every tensor; dtypes: per-tensor overrides; drop: bias names to leave out."""
    os.makedirs(directory, exist_ok=True)
    sd = model_or_sd.state_dict() if isinstance(model_or_sd, nn.Module) else dict(model_or_sd)
    check_state_dict(config, sd)
    for k in drop:
        if not is_bias(k):
            raise ValueError(f"only biases may be left out, not {k!r}")
    tensors = {k: v.detach().float() for k, v in sd.items() if k not in set(drop)}
    dts = {k: (dtypes or {}).get(k, dtype) for k in tensors}
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(directory, "model.safetensors"), tensors, dts, metadata)
    for fname, vocab, size in (("source.vocab", source_vocab, config["source_vocab_size"]),
                               ("target.vocab", target_vocab, config["target_vocab_size"])):
        if vocab is None:
            continue
        if len(vocab) != size:
            raise ValueError(f"{fname}: {len(vocab)} tokens for vocabulary size {size}")
        for t in vocab:
            if "\n" in t or "\r" in t or t == "":
                raise ValueError(f"{fname}: token {t!r} cannot be written one a line")
        with open(os.path.join(directory, fname), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(t + "\n" for t in vocab))


def read_vocab(path):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def load_model_dir(directory):
    """Returns (float32 model, config, source vocab or None, target vocab or None)."""
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    model = Seq2Seq(cfg)
    sd, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    check_state_dict(cfg, sd)
    full = model.state_dict()
    for k in full:
        full[k] = sd[k] if k in sd else torch.zeros_like(full[k])
    model.load_state_dict(full)
    model.eval()
    vocabs = []
    for fname, size in (("source.vocab", cfg["source_vocab_size"]), ("target.vocab", cfg["target_vocab_size"])):
        p = os.path.join(directory, fname)
        if os.path.exists(p):
            v = read_vocab(p)
            if len(v) != size:
                raise ValueError(f"{fname}: {len(v)} lines, expected {size}")
            vocabs.append(v)
        else:
            vocabs.append(None)
    return model, cfg, vocabs[0], vocabs[1]
