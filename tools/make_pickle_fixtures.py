#!/usr/bin/env python3
"""Write the torch.save checkpoints that test Seq2SeqConvert's reader, with the values it must find beside them.

    /work/venvs/torch-pickle/bin/python tools/make_pickle_fixtures.py [--out Tests/Fixtures/pickle] [--corpus Fuzz/corpus/pickle]

Needs PyTorch (written with torch 2.2.2). Every file is deterministic apart from PyTorch's serialization id.
For each NAME.pt a NAME.json holds {"root": TREE} where TREE describes what the Swift reader must return,
element by element (see `describe`); legacy.pt holds {"error": [words the refusal must contain]}.

    ["none"] ["bool", b] ["int", "decimal"] ["float", "16 hex digits of the float64 bits"] ["str", s]
    ["bytes", "hex"] ["list", [T...]] ["tuple", [T...]] ["set", [T...]] ["dict", [[K, V]...]] ["global", "mod.Name"]
    ["object", "mod.Name", [ARGS...], STATE or null]
    ["tensor", {"dtype", "shape", "stride", "offset", "storage_count", "storage_group",
                "bits": [float32 bit patterns, row-major] | "ints": ["decimal", ...]}]

Tensors with the same storage_group (numbered by first appearance in the file's own order) must share one
storage. With --corpus, the .pt files and their data.pkl records are also written as fuzzing seeds.
"""
import argparse
import collections
import copyreg
import inspect
import json
import math
import os
import struct
import zipfile

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Custom:
    """A class the reader cannot know: it must come back as an inert object with its attributes as state."""

    def __init__(self):
        self.a = 1
        self.b = [2.5, "three"]


def float_bits(x):
    return struct.pack(">d", x).hex()


class Describer:
    def __init__(self, proto):
        self.proto = proto
        self.groups = {}

    def tensor(self, t):
        t = t.detach()
        ptr = t.untyped_storage().data_ptr()
        group = self.groups.setdefault(ptr, len(self.groups))
        info = {
            "dtype": str(t.dtype).replace("torch.", ""),
            "shape": list(t.shape),
            "stride": list(t.stride()),
            "offset": t.storage_offset(),
            "storage_count": t.untyped_storage().nbytes() // t.element_size(),
            "storage_group": group,
        }
        if t.is_floating_point():
            info["bits"] = [int(b) & 0xFFFFFFFF for b in t.float().contiguous().view(torch.int32).flatten().tolist()]
        else:
            info["ints"] = [str(int(v)) for v in t.to(torch.int64).flatten().tolist()]
        return ["tensor", info]

    def __call__(self, x):
        d = self
        if x is None:
            return ["none"]
        if isinstance(x, bool):
            return ["bool", x]
        if isinstance(x, int):
            return ["int", str(x)]
        if isinstance(x, float):
            return ["float", float_bits(x)]
        if isinstance(x, str):
            return ["str", x]
        if isinstance(x, (bytes, bytearray)):
            return ["bytes", bytes(x).hex()]
        if isinstance(x, torch.Tensor):
            return d.tensor(x)
        if isinstance(x, torch.dtype):
            return ["global", str(x)]
        if isinstance(x, tuple):  # torch.Size too
            return ["tuple", [d(v) for v in x]]
        if isinstance(x, list):
            return ["list", [d(v) for v in x]]
        if isinstance(x, (set, frozenset)):
            return ["set", [d(v) for v in x]]
        if isinstance(x, dict):  # OrderedDict, defaultdict
            return ["dict", [[d(k), d(v)] for k, v in x.items()]]
        if inspect.isclass(x) or inspect.isroutine(x):
            return ["global", f"{x.__module__}.{x.__qualname__}"]
        rv = x.__reduce_ex__(self.proto)
        if rv[0] is copyreg.__newobj__:
            cls, args = rv[1][0], rv[1][1:]
        else:
            cls, args = rv[0], rv[1]
        state = rv[2] if len(rv) > 2 else None
        return ["object", f"{cls.__module__}.{cls.__qualname__}", [d(a) for a in args], None if state is None else d(state)]


def state_dict():
    """A real module's state dict (an OrderedDict with _metadata) and tensors of every dtype, views included."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(4, 3)
    sd = linear.state_dict()
    w = sd["weight"]
    sd["transposed"] = w.t()  # non-contiguous view of weight's storage
    sd["row"] = w[1]  # offset 4
    sd["column"] = w[:, 2]  # stride 4, offset 2
    sd["half"] = torch.tensor([[1.0, -2.5, 65504.0], [6e-8, float("inf"), -0.0]], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.0, -3.140625, 1e38, 1e-38], dtype=torch.bfloat16)
    sd["double"] = torch.tensor([[0.1, -1e40], [1e-50, 123456789.123456789]], dtype=torch.float64)
    sd["special"] = torch.tensor([float("nan"), float("inf"), float("-inf"), -0.0, 1e-45, 3.4028235e38])
    sd["long"] = torch.tensor([0, -1, 2**40, -(2**62), 2**63 - 1], dtype=torch.int64)
    sd["int32"] = torch.tensor([-(2**31), 7], dtype=torch.int32)
    sd["int16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["int8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["uint8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.75)
    sd["empty"] = torch.zeros(0, 3)
    sd["cube_permuted"] = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4).permute(2, 0, 1)
    return sd


def checkpoint():
    """A training checkpoint in the shape of OpenNMT-py's: state dicts, options, vocabularies, assorted values."""
    torch.manual_seed(1)
    emb = torch.nn.Embedding(5, 3)
    gen = torch.nn.Linear(3, 5)
    gen.weight = emb.weight  # tied: one storage
    param_with_state = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    param_with_state.note = "an attribute"
    shared = [1, "two"]
    misc = {
        "none": None,
        "true": True,
        "false": False,
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31 - 1, 2**31, 2**62, 2**63 - 1, -(2**63)],
        "floats": [0.5, -0.0, 1e300, 5e-324, float("inf"), float("-inf")],
        "str": "h\u00e9llo \u2713 \u65e5\u672c \U0001F600",
        "long_str": "x" * 300,
        "bytes": b"\x00\xff\x80abc",
        "empty_bytes": b"",
        "bytearray": bytearray(b"ab\xfe"),
        "tuple": (1, (2, 3), ()),
        "set": {1, 2, 3},
        "frozenset": frozenset({"a"}),
        "empty_set": set(),
        "nested": {"a": [{"b": (None, [True])}]},
        1: "int key",
        (1, "k"): "tuple key",
        "shared_a": shared,
        "shared_b": shared,
        "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
        "default": collections.defaultdict(list, {"x": [1]}),
        "dtype": torch.float16,
        "device": torch.device("cpu"),
        "size": torch.Size([2, 3]),
        "custom": Custom(),
        "function": math.sqrt,
    }
    opt = argparse.Namespace(layers=2, rnn_size=8, dropout=[0.3], model_type="text", share_embeddings=True,
                             nested={"k": (1, "v")}, none=None)
    return {
        "model": emb.state_dict(),
        "generator": gen.state_dict(),
        "vocab": {"src": ["<unk>", "<blank>", "a", "b", "c"], "tgt": ["<unk>", "<blank>", "<s>", "</s>", "x"]},
        "opt": opt,
        "epoch": 3,
        "param": torch.nn.Parameter(torch.tensor([[0.25, -0.5]])),
        "param_with_state": param_with_state,
        "misc": misc,
    }


def write(out, corpus, name, obj, **save_args):
    path = os.path.join(out, name + ".pt")
    torch.save(obj, path, **save_args)
    proto = save_args.get("pickle_protocol", 2)
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"root": Describer(proto)(obj)}, f, indent=None, ensure_ascii=False)
        f.write("\n")
    check = torch.load(path, weights_only=False)
    assert Describer(proto)(check) is not None
    if corpus:
        with open(path, "rb") as f:
            raw = f.read()
        with open(os.path.join(corpus, name + ".pt"), "wb") as f:
            f.write(raw)
        with zipfile.ZipFile(path) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            with open(os.path.join(corpus, name + ".pkl"), "wb") as f:
                f.write(z.read(pkl))
    print(f"{path}: {os.path.getsize(path)} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "Tests/Fixtures/pickle"))
    ap.add_argument("--corpus", default=None, help="also write fuzzing seeds here (e.g. Fuzz/corpus/pickle)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.corpus:
        os.makedirs(args.corpus, exist_ok=True)
    write(args.out, args.corpus, "state_dict", state_dict())
    write(args.out, args.corpus, "checkpoint_p2", checkpoint())
    write(args.out, args.corpus, "checkpoint_p4", checkpoint(), pickle_protocol=4)
    write(args.out, args.corpus, "checkpoint_p5", checkpoint(), pickle_protocol=5)
    torch.manual_seed(2)
    write(args.out, args.corpus, "whole_module", torch.nn.Linear(3, 2))
    legacy = os.path.join(args.out, "legacy.pt")
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with open(os.path.join(args.out, "legacy.json"), "w") as f:
        json.dump({"error": ["legacy", "1.6", "torch.save"]}, f)
        f.write("\n")
    print(f"{legacy}: {os.path.getsize(legacy)} bytes")


if __name__ == "__main__":
    main()
