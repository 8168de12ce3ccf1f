#!/usr/bin/env python3
"""Deterministic synthetic translation corpus for the toolkit parity fixtures.

Task: every source word is mapped through a fixed dictionary (a few words map to
two target words) and the target sentence is the mapped words in REVERSE order.
Source sentences have 3-12 words over a 40-word source vocabulary.

Splits (written to OUT_DIR):
  train.src/.tgt   4000 pairs   (only the 40 training words)
  dev.src/.tgt      100 pairs
  test.src/.tgt     400 pairs; 10 of them contain exactly one of 3 held-out source
                    words ("unseen": never in train/dev, so <unk> for OpenNMT,
                    JoeyNMT and fairseq)
  test_tutorial.src/.tgt  400 pairs, no held-out word (the PyTorch tutorial's Lang
                    has no <unk>: an unknown word is a KeyError there)
  dict.tsv          source word -> target words (reference only)
Also .trg copies of every .tgt file (JoeyNMT wants <prefix>.<lang> with lang trg).

OUT_DIR/raw/ holds a raw-text variant for the SentencePiece model (its own seed, the
same dictionary): train (4000), dev (100), test (200) .src/.tgt/.trg where a few words
are spelled with accents (á, é, ü, ø, ñ, ï), the first word is capitalized, a comma may
follow a word and every sentence ends in ".", "?" or "!" (the target keeps the same
final mark, capitalizes its own first word and has no comma). Test lines are
distinct from training lines. No held-out words here.

Text is ASCII lowercase letters and single spaces only, no empty lines and no
leading/trailing spaces, so the tutorial's normalizeString leaves it unchanged.

Usage: python3 make_corpus.py OUT_DIR [--seed 1234]
"""
import argparse
import os
import random

CONS = "bdfgklmnprstvz"
VOWELS = "aeiou"


def make_words(rng, n, syllables, taken):
    words = []
    while len(words) < n:
        w = "".join(rng.choice(CONS) + rng.choice(VOWELS) for _ in range(rng.choice(syllables)))
        if w not in taken:
            taken.add(w)
            words.append(w)
    return words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    taken = set()
    src_words = make_words(rng, 40, (1, 2), taken)            # training vocabulary
    unseen = make_words(rng, 3, (3,), taken)                  # test-only words
    tgt_pool = make_words(rng, 60, (2, 3), taken)
    tgt_pool = [w + "x" for w in tgt_pool]                    # target words end in "x"
    mapping = {}
    it = iter(tgt_pool)
    for i, w in enumerate(src_words + unseen):
        if i % 10 == 3:                                       # 4 training words expand to two target words
            mapping[w] = [next(it), next(it)]
        else:
            mapping[w] = [next(it)]

    def translate(ws):
        out = []
        for w in reversed(ws):
            out.extend(mapping[w])
        return out

    def sentence(extra=None):
        n = rng.randint(3, 12)
        ws = [rng.choice(src_words) for _ in range(n)]
        if extra is not None:
            ws[rng.randrange(n)] = extra
        return ws

    os.makedirs(args.out, exist_ok=True)

    def write(name, pairs):
        for ext, idx in (("src", 0), ("tgt", 1), ("trg", 1)):
            with open(os.path.join(args.out, f"{name}.{ext}"), "w", encoding="utf-8") as f:
                for p in pairs:
                    line = " ".join(p[idx])
                    assert line and line == line.strip() and "  " not in line
                    f.write(line + "\n")

    def pairs_of(sents):
        return [(s, translate(s)) for s in sents]

    write("train", pairs_of([sentence() for _ in range(4000)]))
    write("dev", pairs_of([sentence() for _ in range(100)]))
    test = [sentence() for _ in range(400)]
    unk_rows = sorted(rng.sample(range(400), 10))
    test_unk = list(test)
    for k, r in enumerate(unk_rows):
        test_unk[r] = sentence(extra=unseen[k % len(unseen)])
    write("test", pairs_of(test_unk))
    write("test_tutorial", pairs_of(test))
    with open(os.path.join(args.out, "dict.tsv"), "w", encoding="utf-8") as f:
        for w in src_words + unseen:
            f.write(f"{w}\t{' '.join(mapping[w])}\t{'unseen' if w in unseen else 'train'}\n")
    write_raw(args, src_words, mapping)
    print(f"wrote {args.out}: 40 source words, {len(set(sum(mapping.values(), [])))} target words, "
          f"held-out words {unseen} in test rows {[r + 1 for r in unk_rows]}")


ACCENTS = {"a": "á", "e": "é", "u": "ü", "o": "ø", "n": "ñ", "i": "ï"}


def accent(word, k):
    """Spell a word with one accented letter (deterministic from k)."""
    letters = [i for i, c in enumerate(word) if c in ACCENTS]
    i = letters[k % len(letters)]
    return word[:i] + ACCENTS[word[i]] + word[i + 1:]


def write_raw(args, src_words, mapping):
    rng = random.Random(args.seed + 1)
    src_spell = {w: (accent(w, i) if i % 8 == 5 else w) for i, w in enumerate(src_words)}
    tgt_words = sorted({t for w in src_words for t in mapping[w]})
    tgt_spell = {t: (accent(t, i) if i % 7 == 2 else t) for i, t in enumerate(tgt_words)}

    def pair():
        ws = [rng.choice(src_words) for _ in range(rng.randint(3, 10))]
        mark = rng.choice(".?!")
        src = [src_spell[w] for w in ws]
        if len(src) > 4 and rng.random() < 0.4:
            k = rng.randrange(1, len(src) - 1)
            src[k] += ","
        tgt = [tgt_spell[t] for w in reversed(ws) for t in mapping[w]]
        cap = lambda xs: [xs[0][0].upper() + xs[0][1:]] + xs[1:]
        return " ".join(cap(src)) + mark, " ".join(cap(tgt)) + mark

    os.makedirs(os.path.join(args.out, "raw"), exist_ok=True)
    seen = set()
    for name, n in (("train", 4000), ("dev", 100), ("test", 200)):
        pairs = []
        while len(pairs) < n:
            p = pair()
            if name == "test" and p[0] in seen:
                continue
            seen.add(p[0])
            pairs.append(p)
        for ext, idx in (("src", 0), ("tgt", 1), ("trg", 1)):
            with open(os.path.join(args.out, "raw", f"{name}.{ext}"), "w", encoding="utf-8") as f:
                f.write("".join(p[idx] + "\n" for p in pairs))


if __name__ == "__main__":
    main()
