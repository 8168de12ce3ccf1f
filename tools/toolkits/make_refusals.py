#!/usr/bin/env python3
"""Checkpoints the converters must refuse, made from a real OpenNMT-py checkpoint by changing its options.

    /work/venvs/onmt/bin/python tools/toolkits/make_refusals.py \
        Tests/Fixtures/toolkits/onmt_lstm_dot_nofeed_shared/model_step_N.pt Tests/Fixtures/refusals

Each output is `torch.save`d like the original (a zip archive with data.pkl), with the optimizer state
dropped to keep it small. Variants and the option the converter's message must name (refusals.json):
  copy_attn.pt        opt.copy_attn = True                      -> "copy_attn"
  coverage_attn.pt    opt.coverage_attn = True                  -> "coverage_attn"
  context_gate.pt     opt.context_gate = "both"                 -> "context_gate"
  sru.pt              opt.rnn_type = "SRU"                      -> "SRU"
  sparsemax.pt        opt.global_attention_function = sparsemax -> "sparsemax"
  transformer.pt      opt.encoder_type = "transformer"          -> "encoder_type transformer"
  src_feats.pt        vocab["src_feats"] = [["a", "b"]]         -> "src_feats"
  extra_tensor.pt     a tensor decoder.context_gate.gate.weight -> "decoder.context_gate.gate.weight"
The flag variants keep only the first model tensor (the options are refused before weights are read);
extra_tensor.pt keeps the whole model. PyTorch is a developer tool here; the tests read the files.
"""
import copy
import json
import os
import sys

import torch


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    ckpt = torch.load(src, map_location="cpu", weights_only=False)
    ckpt.pop("optim", None)
    first = next(iter(ckpt["model"]))
    expected = {}

    def save(name, ckpt_variant, must_name):
        torch.save(ckpt_variant, os.path.join(out, name))
        expected[name] = must_name

    flags = [("copy_attn.pt", "copy_attn", True, "copy_attn"),
             ("coverage_attn.pt", "coverage_attn", True, "coverage_attn"),
             ("context_gate.pt", "context_gate", "both", "context_gate"),
             ("sru.pt", "rnn_type", "SRU", "SRU"),
             ("sparsemax.pt", "global_attention_function", "sparsemax", "sparsemax"),
             ("transformer.pt", "encoder_type", "transformer", "encoder_type transformer")]
    for name, key, value, must in flags:
        v = copy.copy(ckpt)
        v["opt"] = copy.deepcopy(ckpt["opt"])
        setattr(v["opt"], key, value)
        v["model"] = {first: ckpt["model"][first]}
        save(name, v, must)
    v = copy.copy(ckpt)
    v["vocab"] = dict(ckpt["vocab"], src_feats=[["a", "b"]])
    v["model"] = {first: ckpt["model"][first]}
    save("src_feats.pt", v, "src_feats")
    v = copy.copy(ckpt)
    v["model"] = dict(ckpt["model"])
    v["model"]["decoder.context_gate.gate.weight"] = torch.zeros(4, 4)
    save("extra_tensor.pt", v, "decoder.context_gate.gate.weight")
    with open(os.path.join(out, "refusals.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
