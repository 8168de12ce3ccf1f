#!/usr/bin/env python3
"""MODEL.md "Decoding options" on the PyTorch reference (tools/seq2seq_torch.py), in float64.

Developer tool only. `translate(model, source_ids, options, prefix, index)` decodes one sentence with greedy
search, beam search or sampling under the options (snake-case keys of MODEL.md's table, defaults filled in by
`options()`), and returns its hypotheses best first, each with ids, log_prob, score, ended_with_eos,
token_log_probs and per-step margins (how far each decision was from going the other way), plus warnings.
Call it on a float64 copy (`seq2seq_torch.to_reference(model)`).
"""
import math

import numpy as np
import torch

import seq2seq_torch as st

MASK = (1 << 64) - 1
DEFAULTS = dict(beam_size=1, n_best=1, length_penalty=1.0, max_length=None, min_length=0, sampling_topk=1,
                sampling_topp=1.0, sampling_temperature=1.0, seed=0, no_repeat_ngram_size=0, repetition_penalty=1.0,
                disable_unk=False, suppress_ids=(), suppress_sequences=(), length_penalty_kind="avg",
                max_length_a=2.0, max_length_b=10, max_input_length=None)


def options(**kw):
    for k in kw:
        if k not in DEFAULTS:
            raise KeyError(f"unknown decoding option {k!r}")
    return dict(DEFAULTS, **kw)


# ----------------------------------------------------------------------------- random stream (SplitMix64)

def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class Stream:
    """Sample j of the sentence at position n: state mix(mix(mix(seed) + n) + j)."""

    def __init__(self, seed, n, j):
        self.state = mix((mix((mix(seed) + n) & MASK) + j) & MASK)

    def uniform(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        return (mix(self.state) >> 11) * 2.0 ** -53


# ----------------------------------------------------------------------------- rules

def log_softmax(z):
    m = np.max(z)
    return z - (m + math.log(np.sum(np.exp(z - m))))


class Rules:
    def __init__(self, model, o, prefix):
        cfg = model.cfg
        sp = cfg["special_tokens"]
        self.o, self.eos, self.V, self.prefix = o, sp["eos"], cfg["target_vocab_size"], list(prefix)
        ex = set(cfg.get("suppress_ids", [])) | set(o["suppress_ids"])
        ex |= {s[0] for s in o["suppress_sequences"] if len(s) == 1}
        if o["disable_unk"] and sp.get("unk") is not None:
            ex.add(sp["unk"])
        self.excluded = ex
        self.sequences = [list(s) for s in o["suppress_sequences"] if len(s) >= 2]

    def forced(self, t):
        return self.prefix[t - 1] if t <= len(self.prefix) else None

    def logits(self, z, hist):
        p = self.o["repetition_penalty"]
        z = z.copy()
        if p != 1:
            for y in set(hist):
                z[y] = z[y] * p if z[y] < 0 else z[y] / p
        return z

    def choices(self, h):
        blocked = set(self.excluded)
        if len(h) < self.o["min_length"]:
            blocked.add(self.eos)
        n = self.o["no_repeat_ngram_size"]
        if n > 0 and len(h) >= n:
            tail = h[len(h) - n + 1:]
            for j in range(len(h) - n + 1):
                if h[j:j + n - 1] == tail:
                    blocked.add(h[j + n - 1])
        for s in self.sequences:
            if len(h) >= len(s) - 1 and (len(s) == 1 or h[len(h) - len(s) + 1:] == s[:-1]):
                blocked.add(s[-1])
        allowed = [y for y in range(self.V) if y not in blocked]
        return allowed or [self.eos]

    def draw(self, z, choices, u):
        """MODEL.md "Sampling" steps 2-5. Returns (token, margin)."""
        T = self.o["sampling_temperature"]
        zmax = max(z[y] for y in choices)
        w = {y: math.exp((z[y] - zmax) / T) for y in choices}
        ranked = sorted(choices, key=lambda y: (-z[y], y))
        k = len(ranked) if self.o["sampling_topk"] == 0 else min(self.o["sampling_topk"], len(ranked))
        margin = math.inf
        if k < len(ranked):
            margin = min(margin, z[ranked[k - 1]] - z[ranked[k]])
        kept = ranked[:k]
        p = self.o["sampling_topp"]
        if p < 1:
            mass = sum(w[y] for y in kept)
            cum, c = 0.0, 0
            while c < len(kept):
                before = cum / mass
                cum += w[kept[c]]
                c += 1
                if cum >= p * mass:
                    margin = min(margin, cum / mass - p, p - before)
                    break
            kept = kept[:c]
        order = sorted(kept)
        total = sum(w[y] for y in order)
        target = u * total
        cum = 0.0
        for y in order:
            before = cum
            cum += w[y]
            if cum > target:
                return y, min(margin, (target - before) / total, (cum - target) / total)
        return order[-1], 0.0


def score(lp, length, o):
    a = o["length_penalty"]
    kind = o["length_penalty_kind"]
    if kind == "avg":
        return lp / (length ** a)
    if kind == "wu":
        return lp / (((5 + length) / 6) ** a)
    return lp


# ----------------------------------------------------------------------------- decoding

def _row_logits(logits, i):
    return logits[i].cpu().numpy().astype(np.float64)


@torch.no_grad()
def _single(model, enc, rules, max_length, stream):
    """Greedy (stream None) or one sample."""
    eos = rules.eos
    state, hfeed = enc["state"], enc["hfeed"]
    y = model.bos
    toks, lps, margins = [], [], []
    ended = False
    for t in range(1, max_length + 1):
        logits, state, hfeed, _ = model.step(torch.tensor([y]), state, hfeed, enc)
        z = rules.logits(_row_logits(logits, 0), toks)
        lp = log_softmax(z)
        margin = math.inf
        tok = rules.forced(t)
        if tok is None:
            u = stream.uniform() if stream is not None else None
            ch = rules.choices(toks)
            if stream is None:
                tok = ch[0]
                for c in ch:
                    if lp[c] > lp[tok]:
                        tok = c
                others = [lp[tok] - lp[c] for c in ch if c != tok]
                margin = min(others) if others else math.inf
            elif len(ch) == 1:
                tok = ch[0]
            else:
                tok, margin = rules.draw(z, ch, u)
        lps.append(float(lp[tok]))
        margins.append(margin)
        if tok == eos:
            ended = True
            break
        toks.append(tok)
        y = tok
    return {"ids": toks, "log_prob": float(sum(lps)), "token_log_probs": lps, "ended_with_eos": ended,
            "margins": margins}


@torch.no_grad()
def _beam(model, enc, rules, max_length, K):
    eos = rules.eos
    state, hfeed = enc["state"], enc["hfeed"]
    live = [([], 0.0, [])]  # (tokens, log_prob, token lps)
    finished = []
    margin = math.inf
    for t in range(1, max_length + 1):
        n = len(live)
        e = st._expand_enc(enc, n)
        y = torch.tensor([h[0][-1] if h[0] else model.bos for h in live])
        logits, new_state, new_hfeed, _ = model.step(y, state, hfeed, e)
        cands = []
        lps = []
        for i, h in enumerate(live):
            lp = log_softmax(rules.logits(_row_logits(logits, i), h[0]))
            lps.append(lp)
            f = rules.forced(t)
            for v in ([f] if f is not None else rules.choices(h[0])):
                cands.append((h[1] + lp[v], i, v))
        cands.sort(key=lambda c: (-c[0], c[1], c[2]))
        nxt, parents = [], []
        stop = None
        for pos, (val, i, v) in enumerate(cands):
            h = live[i]
            if v == eos:
                finished.append((h[0], val, h[2] + [float(lps[i][v])], True))
            else:
                nxt.append((h[0] + [v], val, h[2] + [float(lps[i][v])]))
                parents.append(i)
                if len(nxt) == K:
                    stop = pos
                    break
        if stop is not None and stop + 1 < len(cands):
            margin = min(margin, cands[stop][0] - cands[stop + 1][0])
        if len(finished) >= K:
            break
        if t == max_length:
            finished += [(h[0], h[1], h[2], False) for h in nxt]
            break
        live = nxt
        idx = torch.tensor(parents, dtype=torch.long)
        state = st._select_state(new_state, idx, model.cell)
        hfeed = new_hfeed.index_select(0, idx)
    hyps = [{"ids": ids, "log_prob": lp, "token_log_probs": tl, "ended_with_eos": ended,
             "length": len(ids) + (1 if ended else 0)} for ids, lp, tl, ended in finished]
    return hyps, margin


def translate(model, source_ids, o, prefix=(), index=0):
    """Returns (hypotheses best first, margin, warnings). The margin is the smallest decision gap of the whole
    search (greedy/sampling: the minimum over every hypothesis's steps; beam: walks and final ranking)."""
    src = list(source_ids)
    warnings = []
    m = o["max_input_length"]
    if m is not None and len(src) > m:
        warnings.append(f"source of {len(src)} tokens cut to its first {m} (max_input_length)")
        src = src[:m]
    src = getattr(model, "encoder_source", lambda s: list(s))(src)
    if o["max_length"] is not None:
        max_length = o["max_length"]
    else:
        max_length = int(min(max(math.floor(o["max_length_a"] * len(src)) + o["max_length_b"], 1), 16384))
    rules = Rules(model, o, prefix)
    enc = st._encode_one(model, src)
    if o["sampling_topk"] != 1:
        hyps = []
        for j in range(o["n_best"]):
            h = _single(model, enc, rules, max_length, Stream(o["seed"], index, j))
            h["sample"] = j
            hyps.append(h)
        margin = min(min(h["margins"]) for h in hyps)
        for h in hyps:
            h["score"] = score(h["log_prob"], len(h["token_log_probs"]), o)
        hyps.sort(key=lambda h: (-h["score"], h["sample"]))
    elif o["beam_size"] == 1:
        h = _single(model, enc, rules, max_length, None)
        h["score"] = score(h["log_prob"], len(h["token_log_probs"]), o)
        hyps, margin = [h], min(h["margins"])
    else:
        hyps, margin = _beam(model, enc, rules, max_length, o["beam_size"])
        for h in hyps:
            h["score"] = score(h["log_prob"], h["length"], o)
        order = sorted(range(len(hyps)), key=lambda j: (-hyps[j]["score"], j))
        hyps = [hyps[j] for j in order]
    n = o["n_best"]
    for a, b in zip(hyps[:n], hyps[1:n + 1]):
        if (a["ids"], a["ended_with_eos"]) != (b["ids"], b["ended_with_eos"]):  # equal samples rank either way
            margin = min(margin, a["score"] - b["score"])
    return hyps[:n], margin, warnings
