#!/usr/bin/env python3
"""The PyTorch tutorial "NLP From Scratch: Translation with a Sequence to Sequence
Network and Attention" (post-2023 revision, pytorch/tutorials PR #2468), trained
on the synthetic corpus, saved with the project's export recipe, and evaluated
with the tutorial's own `evaluate`.

The model classes (EncoderRNN, BahdanauAttention, AttnDecoderRNN), Lang,
normalizeString, indexesFromSentence / tensorFromSentence, the data loader
(zero padding = SOS, EOS appended to both sides), train_epoch (Adam, NLLLoss over
all MAX_LENGTH positions, teacher forcing) and evaluate are the tutorial's, with
these changes only:
  * MAX_LENGTH = 20 (the tutorial's 10 is too short for this corpus: its targets
    have up to 17 words, +EOS), hidden_size = 64, CPU only;
  * Adam learning rate 0.003 instead of the tutorial's default 0.001 (learns in
    fewer epochs);
  * data come from the corpus files instead of eng-fra.txt (no prefix filter);
  * seeds are set; the training loop runs a fixed number of epochs.

Usage: tutorial.py --corpus DIR --out FIXTURE_DIR [--epochs N]
Writes FIXTURE_DIR/model.pt, test.src (copy of test_tutorial.src), toolkit.out
(evaluate's words before EOS, joined by " ", one line per test line) and
toolkit.scores (per line, the log_softmax value of every emitted id up to and
including EOS, space separated).
"""
from __future__ import unicode_literals, print_function, division
import argparse
import json
import random
import re
import shutil
import time
import unicodedata

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import TensorDataset, DataLoader, RandomSampler

device = torch.device("cpu")

SOS_token = 0
EOS_token = 1
MAX_LENGTH = 20


class Lang:
    def __init__(self, name):
        self.name = name
        self.word2index = {}
        self.word2count = {}
        self.index2word = {0: "SOS", 1: "EOS"}
        self.n_words = 2  # Count SOS and EOS

    def addSentence(self, sentence):
        for word in sentence.split(' '):
            self.addWord(word)

    def addWord(self, word):
        if word not in self.word2index:
            self.word2index[word] = self.n_words
            self.word2count[word] = 1
            self.index2word[self.n_words] = word
            self.n_words += 1
        else:
            self.word2count[word] += 1


# Turn a Unicode string to plain ASCII, thanks to
# https://stackoverflow.com/a/518232/2809427
def unicodeToAscii(s):
    return ''.join(
        c for c in unicodedata.normalize('NFD', s)
        if unicodedata.category(c) != 'Mn'
    )


# Lowercase, trim, and remove non-letter characters
def normalizeString(s):
    s = unicodeToAscii(s.lower().strip())
    s = re.sub(r"([.!?])", r" \1", s)
    s = re.sub(r"[^a-zA-Z!?]+", r" ", s)
    return s.strip()


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size

        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super(BahdanauAttention, self).__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)

        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)

        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super(AttnDecoderRNN, self).__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long, device=device).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []

        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs
            )
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)

            if target_tensor is not None:
                # Teacher forcing: Feed the target as the next input
                decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
            else:
                # Without teacher forcing: use its own predictions as the next input
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()  # detach from history as input

        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)

        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))

        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)

        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)

        return output, hidden, attn_weights


def indexesFromSentence(lang, sentence):
    return [lang.word2index[word] for word in sentence.split(' ')]


def tensorFromSentence(lang, sentence):
    indexes = indexesFromSentence(lang, sentence)
    indexes.append(EOS_token)
    return torch.tensor(indexes, dtype=torch.long, device=device).view(1, -1)


def prepareData(corpus):
    """The tutorial's prepareData, reading the corpus files instead of eng-fra.txt."""
    src = open(f"{corpus}/train.src", encoding="utf-8").read().strip().split('\n')
    tgt = open(f"{corpus}/train.tgt", encoding="utf-8").read().strip().split('\n')
    pairs = [[normalizeString(s), normalizeString(t)] for s, t in zip(src, tgt)]
    assert all(p == [s, t] for p, s, t in zip(pairs, src, tgt)), "corpus must already be normalized"
    pairs = [p for p in pairs if len(p[0].split(' ')) < MAX_LENGTH and len(p[1].split(' ')) < MAX_LENGTH]
    input_lang, output_lang = Lang("src"), Lang("tgt")
    for pair in pairs:
        input_lang.addSentence(pair[0])
        output_lang.addSentence(pair[1])
    return input_lang, output_lang, pairs


def get_dataloader(corpus, batch_size):
    input_lang, output_lang, pairs = prepareData(corpus)

    n = len(pairs)
    input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
    target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)

    for idx, (inp, tgt) in enumerate(pairs):
        inp_ids = indexesFromSentence(input_lang, inp)
        tgt_ids = indexesFromSentence(output_lang, tgt)
        inp_ids.append(EOS_token)
        tgt_ids.append(EOS_token)
        input_ids[idx, :len(inp_ids)] = inp_ids
        target_ids[idx, :len(tgt_ids)] = tgt_ids

    train_data = TensorDataset(torch.LongTensor(input_ids).to(device),
                               torch.LongTensor(target_ids).to(device))

    train_sampler = RandomSampler(train_data)
    train_dataloader = DataLoader(train_data, sampler=train_sampler, batch_size=batch_size)
    return input_lang, output_lang, train_dataloader


def train_epoch(dataloader, encoder, decoder, encoder_optimizer,
                decoder_optimizer, criterion):

    total_loss = 0
    for data in dataloader:
        input_tensor, target_tensor = data

        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()

        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)

        loss = criterion(
            decoder_outputs.view(-1, decoder_outputs.size(-1)),
            target_tensor.view(-1)
        )
        loss.backward()

        encoder_optimizer.step()
        decoder_optimizer.step()

        total_loss += loss.item()

    return total_loss / len(dataloader)


def evaluate(encoder, decoder, sentence, input_lang, output_lang):
    with torch.no_grad():
        input_tensor = tensorFromSentence(input_lang, sentence)

        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)

        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()

        decoded_words = []
        for idx in decoded_ids:
            if idx.item() == EOS_token:
                decoded_words.append('<EOS>')
                break
            decoded_words.append(output_lang.index2word[idx.item()])
    return decoded_words, decoder_attn


def token_scores(encoder, decoder, sentence, input_lang):
    """Not in the tutorial: the log_softmax value of each id `evaluate` emits (same forward pass)."""
    with torch.no_grad():
        encoder_outputs, encoder_hidden = encoder(tensorFromSentence(input_lang, sentence))
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden)
        logp, topi = decoder_outputs.topk(1)
        out = []
        for lp, idx in zip(logp.squeeze().tolist(), topi.squeeze().tolist()):
            out.append(lp)
            if idx == EOS_token:
                break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.003)
    args = ap.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    hidden_size = args.hidden
    batch_size = 32
    input_lang, output_lang, train_dataloader = get_dataloader(args.corpus, batch_size)
    encoder = EncoderRNN(input_lang.n_words, hidden_size).to(device)
    decoder = AttnDecoderRNN(hidden_size, output_lang.n_words).to(device)

    # the tutorial's train(): Adam for both (its default lr is 0.001), NLLLoss
    learning_rate = args.lr
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss()
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        loss = train_epoch(train_dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion)
        print(f"epoch {epoch} loss {loss:.4f} ({time.time() - t0:.0f} s)", flush=True)
    train_seconds = time.time() - t0

    torch.save({"encoder": encoder.state_dict(), "decoder": decoder.state_dict(),
                "source_vocab": [input_lang.index2word[i] for i in range(input_lang.n_words)],
                "target_vocab": [output_lang.index2word[i] for i in range(output_lang.n_words)]},
               f"{args.out}/model.pt")

    encoder.eval()
    decoder.eval()
    shutil.copy(f"{args.corpus}/test_tutorial.src", f"{args.out}/test.src")
    lines = open(f"{args.out}/test.src", encoding="utf-8").read().split("\n")[:-1]
    outs, scores = [], []
    for line in lines:
        assert normalizeString(line) == line
        words, _ = evaluate(encoder, decoder, line, input_lang, output_lang)
        if words and words[-1] == "<EOS>":
            words = words[:-1]
        outs.append(" ".join(words))
        scores.append(" ".join(f"{x:.6f}" for x in token_scores(encoder, decoder, line, input_lang)))
    with open(f"{args.out}/toolkit.out", "w", encoding="utf-8") as f:
        f.write("".join(o + "\n" for o in outs))
    with open(f"{args.out}/toolkit.scores", "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in scores))
    json.dump({"train_seconds": round(train_seconds), "epochs": args.epochs, "hidden_size": hidden_size,
               "learning_rate": learning_rate, "batch_size": batch_size, "seed": args.seed, "MAX_LENGTH": MAX_LENGTH,
               "source_words": input_lang.n_words, "target_words": output_lang.n_words},
              open(f"{args.out}/.train_info.json", "w"))


if __name__ == "__main__":
    main()
