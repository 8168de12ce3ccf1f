#!/usr/bin/env python3
"""Golden files for the subword tokenizers (Tests/Fixtures/subword), from the reference implementations.

Trains two small SentencePiece models and learns BPE codes on a small generated corpus, then writes, for a
test corpus with accents, combining marks, CJK, emoji, punctuation, digits and odd spacing (tabs, double
spaces, leading and trailing spaces, NBSP, ideographic space), what the PyPI packages `sentencepiece` and
`subword-nmt` give: pieces, ids and detokenized text, plain and as OpenNMT-py 3.5, JoeyNMT 2.3 and fairseq
0.12 apply them around their translate commands (those wrappers are reproduced here from the toolkits'
source, a few lines each, and named where they are). The Swift tests compare against these files exactly
and need no Python.

Run with a Python that has the two packages, in a venv outside the repository:

    python3 -m venv /work/venvs/subword
    /work/venvs/subword/bin/pip install sentencepiece==0.1.99 subword-nmt==0.3.8
    /work/venvs/subword/bin/python tools/make_subword_golden.py Tests/Fixtures/subword

sentencepiece 0.1.99 is the reference because JoeyNMT 2.3 restricts segmentation to its vocabulary with
`SetVocabulary`, which the Python package has up to 0.1.99 and not in 0.2.x (there JoeyNMT's
SentencePieceTokenizer.set_vocab fails); it is also the release closest to Debian's libsentencepiece 0.1.97.
`--check DIR` recomputes every field from the committed models with whatever package versions are installed
(for example sentencepiece 0.2.3) and reports the lines that differ (the JoeyNMT fields are skipped where
SetVocabulary is missing).

Output (all JSON Lines are UTF-8, one object a line):
    corpus/train.txt, corpus/test.txt      the training and test corpora (test: one case a line)
    spm_unigram.model                      unigram, nmt_nfkc normalization (the default), 400 pieces
    spm_bpe.model                          bpe, identity normalization, byte fallback, no dummy prefix, 700
    spm_*.vocab.txt                        the model vocabulary the toolkit cases map pieces with
    spm_*.jsonl                            per test line: pieces, ids, decode(pieces), decode(ids), and the
                                           toolkits' pieces and output text
    bpe_v02.codes, bpe_v01.codes           subword-nmt codes (learn_bpe, 120 merges; the 0.1 file is the same
                                           merges without the version header, which subword-nmt reads as 0.1)
    bpe_*.vocab.txt                        the model vocabulary (specials, then pieces seen 4 times in the
                                           training corpus), also subword-nmt's vocabulary filter (JoeyNMT)
    bpe_*.jsonl                            per test line: process_line, the toolkits' pieces and output text;
                                           *_glossaries and *_merges40: process_line with glossaries USA and
                                           2026, and with the first 40 merges only
    bpe_odd.*                              hand-written codes (repeated and coinciding merges, CRLF) with and
                                           without a vocabulary filter
    versions.json                          the package versions used
"""
import io
import json
import os
import random
import re
import sys
from collections import Counter

import sentencepiece as spm
from subword_nmt import apply_bpe, learn_bpe


def train_corpus():
    """A few hundred deterministic sentences over words in several scripts."""
    rng = random.Random(20260524)
    words = {
        "en": "the cat sat on mat dog runs fast slow house river tree green blue translation model night day "
              "morning evening water fire stone light dark small large old new".split(),
        "fr": "le chat était très éléphant forêt où déjà garçon façon noël naïve hôtel crème brûlée "
              "été rivière lumière".split(),
        "de": "der Hund läuft schnell über die Brücke schön Straße Größe müde Äpfel Öl grün".split(),
        "es": "el niño mañana corazón canción año está aquí señor".split(),
        "ja": "日本語 東京 今日 天気 猫 犬 学校 先生 ありがとう こんにちは".split(),
        "zh": "中文 北京 你好 世界 朋友 学习 电脑 今天".split(),
    }
    punctuation = [".", ",", "!", "?", ";", ":", "…", "«", "»", "(", ")", "—", "'", '"']
    lines = []
    for i in range(600):
        lang = rng.choice(list(words))
        n = rng.randint(3, 12)
        toks = [rng.choice(words[lang]) for _ in range(n)]
        if rng.random() < 0.4:
            toks.insert(rng.randrange(len(toks) + 1), str(rng.randint(0, 2100)))
        if rng.random() < 0.5:
            toks[-1] += rng.choice(punctuation)
        if rng.random() < 0.2:
            toks[0] = toks[0].capitalize()
        sep = "" if lang in ("ja", "zh") and rng.random() < 0.7 else " "
        lines.append(sep.join(toks))
    return lines


# One case a line; no line holds "\n". Escapes keep the invisible characters visible here.
TEST_LINES = [
    "the cat sat on the mat.",
    "Le garçon était déjà à l'hôtel, où la crème brûlée…",
    "Der Hund läuft über die Brücke; Größe: 42 cm!",
    "e\u0301te\u0301 na\u0308ive (combining marks)",
    "日本語の天気は今日 晴れ。東京",
    "你好，世界！学习中文 2026",
    "emoji 👍🏽 family 👨\u200d👩\u200d👧 flag 🇫🇷 and ❤️ end",
    "digits 0123456789 3.14159 -17 1,000,000 ½",
    "tabs\tbetween\twords",
    "double  spaces   and    more",
    "   leading spaces",
    "trailing spaces   ",
    "\t leading tab and trailing tab \t",
    "no\u00a0break\u00a0space",
    "ideographic\u3000space and \u2003em space",
    "ＦＵＬＬ ｗｉｄｔｈ ＡＢＣ １２３",
    "unknown symbols ☃ ∮ ⅞ ꙮ",
    "mixed: cat 猫 chat Hund 犬 niño",
    "punctuation!?!... «quoted» — “curly” ‘single’",
    "a",
    "x",
    "",
    " ",
    "USA1934USAB 2026 in the USA",
    "\u00e9 vs e\u0301 vs \u212b vs A\u030a",
    "zero\u200bwidth\u200bspace",
    "arabic مرحبا بالعالم and hebrew שלום",
    "carriage\rreturn inside",
]

GLOSSARIES = ["USA", "2026"]


def onmt_strip_split(line):
    # onmt/inputters/text_corpus.py ParallelCorpusIterator._process: strip().split(" "), then the
    # transforms' TokenizerTransform._tokenize joins the tokens with " " again.
    return " ".join(line.strip().split(" "))


def fairseq_tokenize_line(line):
    # fairseq/tokenizer.py tokenize_line
    return re.sub(r"\s+", " ", line).strip().split()


def spm_cases(sp, sp_joey, line):
    out = {"text": line}
    out["pieces"] = sp.encode(line, out_type=str)
    out["ids"] = sp.encode(line)
    out["decode_pieces"] = sp.decode(out["pieces"])
    out["decode_ids"] = sp.decode(out["ids"])
    # OpenNMT-py 3.5: transforms/tokenize.py SentencePieceTransform.tokenize_string / _detokenize
    onmt = sp.encode(onmt_strip_split(line), out_type=str)
    out["onmt_pieces"] = onmt
    out["onmt_text"] = sp.decode_pieces(onmt)
    # JoeyNMT 2.3: prediction.py translate (line.rstrip()), tokenizers.py SentencePieceTokenizer with
    # set_vocab (SetVocabulary(itos), on the processor that also decodes) and post_process (decode,
    # "▁" -> " ", strip). (A processor of its own: SetVocabulary changes the pieces' types for good, byte
    # pieces included, and ResetVocabulary does not restore them in 0.1.99.)
    joey = sp_joey.encode(line.rstrip(), out_type=str)
    out["joey_pieces"] = joey
    out["joey_text"] = sp_joey.decode(joey).replace("\u2581", " ").strip()
    # fairseq 0.12: interactive.py buffered_read (strip), encoders/sentencepiece_bpe.py encode, then
    # Dictionary.encode_line's tokenize_line; decode: x.replace(" ", "").replace("▁", " ").strip()
    fs = fairseq_tokenize_line(" ".join(sp.encode(line.strip(), out_type=str)))
    out["fairseq_pieces"] = fs
    out["fairseq_text"] = " ".join(fs).replace(" ", "").replace("\u2581", " ").strip()
    return out


def bpe_cases(bpe, bpe_vocab_filter, line):
    out = {"text": line}
    out["process_line"] = bpe.process_line(line)
    # OpenNMT-py 3.5: transforms/tokenize.py BPETransform.tokenize_string (segment_tokens over split(" "))
    # and _detokenize (re.sub(r"(@@ )|(@@ ?$)", "", " ".join(tokens)))
    onmt = bpe.segment_tokens(onmt_strip_split(line).split(" "))
    out["onmt_pieces"] = onmt
    out["onmt_text"] = re.sub(r"(@@ )|(@@ ?$)", r"", " ".join(onmt))
    # JoeyNMT 2.3: tokenizers.py SubwordNMTTokenizer (process_line(...).strip().split(), vocabulary filter
    # from set_vocab) and post_process (join, remove "@@ ", remove a final "@@")
    joey = bpe_vocab_filter.process_line(line.rstrip()).strip().split()
    out["joey_pieces"] = joey
    text = " ".join(joey).replace("@@ ", "")
    if text.endswith("@@"):
        text = text[:-2]
    out["joey_text"] = text
    # fairseq 0.12: encoders/subword_nmt_bpe.py encode (process_line) and decode ((x + " ").replace("@@ ",
    # "").rstrip()), with tokenize_line in between
    fs = fairseq_tokenize_line(bpe.process_line(line.strip()))
    out["fairseq_pieces"] = fs
    out["fairseq_text"] = (" ".join(fs) + " ").replace("@@ ", "").rstrip()
    return out


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=True) + "\n")


def piece_vocab(pieces_per_line, min_count):
    counts = Counter(p for pieces in pieces_per_line for p in pieces)
    specials = ["<unk>", "<blank>", "<s>", "</s>"]
    return specials + sorted(p for p, c in counts.items() if c >= min_count and p not in specials)


def check(out):
    """Recomputes the golden fields from the committed files with the installed packages; prints differences."""
    differences = 0
    restrictable = hasattr(spm.SentencePieceProcessor(), "SetVocabulary")
    for name in ("spm_unigram", "spm_bpe"):
        sp = spm.SentencePieceProcessor(model_file=os.path.join(out, name + ".model"))
        with open(os.path.join(out, name + ".vocab.txt"), encoding="utf-8") as f:
            vocab = f.read().split("\n")[:-1]
        with open(os.path.join(out, name + ".jsonl"), encoding="utf-8") as f:
            golden = [json.loads(l) for l in f]
        sp_joey = None
        if restrictable:
            sp_joey = spm.SentencePieceProcessor(model_file=os.path.join(out, name + ".model"))
            sp_joey.SetVocabulary(vocab)
        for g in golden:
            line = g["text"]
            now = {"pieces": sp.encode(line, out_type=str), "ids": sp.encode(line)}
            now["decode_pieces"] = sp.decode(now["pieces"])
            now["decode_ids"] = sp.decode(now["ids"])
            if restrictable:
                now.update({k: v for k, v in spm_cases(sp, sp_joey, line).items() if k.startswith("joey")})
            for k, v in now.items():
                if g[k] != v:
                    differences += 1
                    print(f"{name} {k} differs for {line!r}: golden {g[k]!r}, now {v!r}")
    for version in ("v02", "v01"):
        with open(os.path.join(out, f"bpe_{version}.codes"), encoding="utf-8") as f:
            bpe = apply_bpe.BPE(f)
        with open(os.path.join(out, f"bpe_{version}.jsonl"), encoding="utf-8") as f:
            for g in map(json.loads, f):
                if bpe.process_line(g["text"]) != g["process_line"]:
                    differences += 1
                    print(f"bpe_{version} process_line differs for {g['text']!r}")
    import importlib.metadata as md
    print(f"sentencepiece {md.version('sentencepiece')}, subword-nmt {md.version('subword-nmt')}: "
          f"{differences} difference(s){'' if restrictable else ' (JoeyNMT fields skipped: no SetVocabulary)'}")
    return differences


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--check":
        sys.exit(1 if check(sys.argv[2]) else 0)
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/subword"
    os.makedirs(os.path.join(out, "corpus"), exist_ok=True)
    train = train_corpus()
    train_path = os.path.join(out, "corpus", "train.txt")
    with open(train_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(train) + "\n")
    with open(os.path.join(out, "corpus", "test.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(json.dumps(t, ensure_ascii=True) + "\n" for t in TEST_LINES))

    # SentencePiece: a default unigram model, and a BPE model with other normalizer options.
    models = {
        "spm_unigram": dict(model_type="unigram", vocab_size=400, character_coverage=0.98),
        "spm_bpe": dict(model_type="bpe", vocab_size=700, character_coverage=0.98, normalization_rule_name="identity",
                        byte_fallback=True, add_dummy_prefix=False, remove_extra_whitespaces=False),
    }
    for name, options in models.items():
        spm.SentencePieceTrainer.train(input=train_path, model_prefix=os.path.join(out, name), seed_sentencepiece_size=10000,
                                       num_threads=1, minloglevel=2, **options)
        os.remove(os.path.join(out, name + ".vocab"))
        sp = spm.SentencePieceProcessor(model_file=os.path.join(out, name + ".model"))
        vocab = piece_vocab([sp.encode(l, out_type=str) for l in train], 3)
        with open(os.path.join(out, name + ".vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(v + "\n" for v in vocab))
        sp_joey = spm.SentencePieceProcessor(model_file=os.path.join(out, name + ".model"))
        sp_joey.SetVocabulary(vocab)
        write_jsonl(os.path.join(out, name + ".jsonl"), [spm_cases(sp, sp_joey, l) for l in TEST_LINES])

    # subword-nmt: codes learned with learn_bpe (version 0.2 header), and the same merges as 0.1 codes.
    codes = io.StringIO()
    learn_bpe.learn_bpe(io.StringIO("\n".join(train) + "\n"), codes, 120, min_frequency=2)
    codes_text = codes.getvalue()
    with open(os.path.join(out, "bpe_v02.codes"), "w", encoding="utf-8", newline="\n") as f:
        f.write(codes_text)
    with open(os.path.join(out, "bpe_v01.codes"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(l + "\n" for l in codes_text.splitlines() if not l.startswith("#version")))

    for version in ("v02", "v01"):
        with open(os.path.join(out, f"bpe_{version}.codes"), encoding="utf-8") as f:
            bpe = apply_bpe.BPE(f)
        pieces = [bpe.segment_tokens(l.strip().split(" ")) for l in train]
        vocab = piece_vocab(pieces, 4)
        with open(os.path.join(out, f"bpe_{version}.vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(v + "\n" for v in vocab))
        with open(os.path.join(out, f"bpe_{version}.codes"), encoding="utf-8") as f:
            # JoeyNMT: bpe.vocab = set(itos) - set(specials)
            filtered = apply_bpe.BPE(f, vocab=set(vocab) - {"<unk>", "<blank>", "<s>", "</s>"})
        write_jsonl(os.path.join(out, f"bpe_{version}.jsonl"), [bpe_cases(bpe, filtered, l) for l in TEST_LINES])
        with open(os.path.join(out, f"bpe_{version}.codes"), encoding="utf-8") as f:
            glossary = apply_bpe.BPE(f, glossaries=GLOSSARIES)
        write_jsonl(os.path.join(out, f"bpe_{version}_glossaries.jsonl"),
                    [{"text": l, "process_line": glossary.process_line(l)} for l in TEST_LINES])
        with open(os.path.join(out, f"bpe_{version}.codes"), encoding="utf-8") as f:
            limited = apply_bpe.BPE(f, merges=40)
        write_jsonl(os.path.join(out, f"bpe_{version}_merges40.jsonl"),
                    [{"text": l, "process_line": limited.process_line(l)} for l in TEST_LINES])

    # Hand-written 0.2 codes with a repeated merge and merges whose results coincide ("ab"+"c" and "a"+"bc"),
    # "\r\n" line ends, and a vocabulary filter that has to undo merges (subword-nmt's bpe_codes_reverse keeps
    # the pair whose last occurrence comes first).
    odd_codes = "#version: 0.2\r\na b\r\nb c\r\na bc\r\nab c</w>\r\nab c\r\na b\r\nabc d</w>\r\nc a\r\nabc a</w>\r\n"
    with open(os.path.join(out, "bpe_odd.codes"), "w", encoding="utf-8", newline="") as f:
        f.write(odd_codes)
    odd_vocab = ["a@@", "b", "c@@", "ab@@", "d", "bc", "a"]
    with open(os.path.join(out, "bpe_odd.vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(v + "\n" for v in odd_vocab))
    odd_lines = ["abc abcd abca ab bc ca abcabc", "cab abab aabbcc", "abcd  abc\tabc"]
    with open(os.path.join(out, "bpe_odd.codes"), encoding="utf-8") as f:
        plain = apply_bpe.BPE(f)
    with open(os.path.join(out, "bpe_odd.codes"), encoding="utf-8") as f:
        filtered = apply_bpe.BPE(f, vocab=set(odd_vocab))
    write_jsonl(os.path.join(out, "bpe_odd.jsonl"), [{"text": l, "process_line": plain.process_line(l),
                                                     "filtered": filtered.process_line(l)} for l in odd_lines])

    import importlib.metadata as md
    with open(os.path.join(out, "versions.json"), "w", encoding="utf-8") as f:
        json.dump({"sentencepiece": md.version("sentencepiece"), "subword-nmt": md.version("subword-nmt"),
                   "glossaries": GLOSSARIES, "merges_limited": 40}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
