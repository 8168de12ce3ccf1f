#!/usr/bin/env python3
"""Train the default demo model: a character-level date normalizer ("24.11.26" -> "2026-11-24").

    /work/venv/bin/python tools/train_dates.py [--minutes 14] [--out /tmp/dates.pt] [--seed 1]

then export it with tools/export_pytorch.py:

    /work/venv/bin/python tools/export_pytorch.py /tmp/dates.pt Sources/Seq2Seq/Resources/dates

CPU only, 2 threads. Data come from tools/dates.py, generated on the fly with a fixed seed; every source
string of the held-out set (data/dates-heldout.tsv) is skipped. The model follows MODEL.md: gru cells, a
bidirectional 1-layer encoder, bahdanau attention, a linear_tanh bridge, the `characters` tokenizer.
The checkpoint holds {"config", "state_dict", "source_vocab", "target_vocab", "log"}.
"""
import argparse
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dates  # noqa: E402
import seq2seq_torch as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def vocabularies():
    src = dates.SPECIALS + dates.SOURCE_CHARS
    tgt = dates.SPECIALS + dates.TARGET_CHARS
    assert len(set(src)) == len(src) and len(set(tgt)) == len(tgt)
    return src, tgt


def make_config(src_vocab, tgt_vocab, E, H, A):
    return st.make_config(cell="gru", source_vocab_size=len(src_vocab), target_vocab_size=len(tgt_vocab),
                          embedding_size=E, hidden_size=H, encoder_layers=1, decoder_layers=1,
                          bidirectional_encoder=True, bridge="linear_tanh", attention="bahdanau",
                          attention_size=A, tie_target_embeddings=False, tokenizer="characters")


def batchify(pairs, src_index, tgt_index, cfg):
    sp = cfg["special_tokens"]
    srcs = [[src_index.get(ch, sp["unk"]) for ch in s] for s, _ in pairs]
    tgts = [[tgt_index[ch] for ch in t] + [sp["eos"]] for _, t in pairs]
    B, S, T = len(pairs), max(map(len, srcs)), max(map(len, tgts))
    src = torch.full((B, S), sp["pad"], dtype=torch.long)
    tgt_in = torch.full((B, T), sp["pad"], dtype=torch.long)
    tgt_out = torch.full((B, T), -100, dtype=torch.long)
    for i, (a, b) in enumerate(zip(srcs, tgts)):
        src[i, :len(a)] = torch.tensor(a)
        tgt_in[i, 0] = sp["bos"]
        tgt_in[i, 1:len(b)] = torch.tensor(b[:-1])
        tgt_out[i, :len(b)] = torch.tensor(b)
    return src, torch.tensor([len(a) for a in srcs]), tgt_in, tgt_out


@torch.no_grad()
def batched_greedy(model, src, src_len, max_len=16):
    enc = model.encode(src, src_len)
    state, hfeed = enc["state"], enc["hfeed"]
    B = src.shape[0]
    y = torch.full((B,), model.bos, dtype=torch.long)
    out = []
    done = torch.zeros(B, dtype=torch.bool)
    for _ in range(max_len):
        logits, state, hfeed, _ = model.step(y, state, hfeed, enc)
        y = logits.argmax(-1)
        out.append(torch.where(done, torch.full_like(y, model.eos), y))
        done |= y == model.eos
        if bool(done.all()):
            break
    return torch.stack(out, 1)


def accuracy(model, pairs, src_index, tgt_vocab, cfg, bs=500):
    model.eval()
    ok = 0
    for i in range(0, len(pairs), bs):
        chunk = pairs[i:i + bs]
        src, sl, _, _ = batchify(chunk, src_index, {c: j for j, c in enumerate(tgt_vocab)}, cfg)
        ys = batched_greedy(model, src, sl)
        for (s, t), row in zip(chunk, ys.tolist()):
            txt = []
            for j in row:
                if j == model.eos:
                    break
                txt.append(tgt_vocab[j])
            ok += "".join(txt) == t
    model.train()
    return ok / len(pairs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=14.0, help="wall-clock budget for training")
    ap.add_argument("--out", default="/tmp/dates.pt", help="checkpoint path (keep it outside the repo)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--embedding", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--attention-size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    src_vocab, tgt_vocab = vocabularies()
    cfg = make_config(src_vocab, tgt_vocab, a.embedding, a.hidden, a.attention_size)
    model = st.Seq2Seq(cfg)
    src_index = {c: i for i, c in enumerate(src_vocab)}
    tgt_index = {c: i for i, c in enumerate(tgt_vocab)}

    held = {s for s, _ in dates.heldout()}
    train = dates.stream(dates.TRAIN_SEED + a.seed, exclude=held)
    vgen = dates.stream(12345, exclude=held)
    val = [next(vgen) for _ in range(2000)]

    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    lossf = torch.nn.NLLLoss(ignore_index=-100)
    budget = a.minutes * 60
    t0 = time.time()
    step, log, best = 0, [], 0.0
    model.train()
    while True:
        el = time.time() - t0
        if el > budget:
            break
        frac = el / budget
        lr = a.lr * (0.05 + 0.95 * max(0.0, 1 - frac)) if frac > 0.1 else a.lr * max(0.1, min(1.0, (step + 1) / 200))
        for g in opt.param_groups:
            g["lr"] = lr
        pairs = [next(train) for _ in range(a.batch)]
        src, sl, tin, tout = batchify(pairs, src_index, tgt_index, cfg)
        lp = model.score_batch(src, sl, tin)
        loss = lossf(lp.reshape(-1, lp.shape[-1]), tout.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 250 == 0:
            acc = accuracy(model, val, src_index, tgt_vocab, cfg)
            entry = {"step": step, "secs": round(time.time() - t0, 1), "loss": round(loss.item(), 5),
                     "lr": round(lr, 6), "val_acc": acc}
            log.append(entry)
            print(entry, flush=True)
            if acc >= best:
                best = acc
                torch.save({"config": cfg, "state_dict": model.state_dict(), "source_vocab": src_vocab,
                            "target_vocab": tgt_vocab, "log": log}, a.out)
            if acc == 1.0 and step >= 3000 and len(log) >= 3 and all(e["val_acc"] == 1.0 for e in log[-3:]):
                print("validation accuracy 100% three times in a row: stopping", flush=True)
                break
    acc = accuracy(model, val, src_index, tgt_vocab, cfg)
    log.append({"step": step, "secs": round(time.time() - t0, 1), "val_acc": acc, "final": True})
    print(log[-1], flush=True)
    if acc >= best:
        torch.save({"config": cfg, "state_dict": model.state_dict(), "source_vocab": src_vocab,
                    "target_vocab": tgt_vocab, "log": log}, a.out)
    print(f"checkpoint: {a.out} (best validation accuracy {max(best, acc):.4f}, {step} steps, "
          f"{time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
