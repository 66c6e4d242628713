#!/usr/bin/python3
"""Generates the small Python-made fixtures of pkg/checkpoint and checks
Go-written files with torch.

Needs torch 1.13 (Debian bookworm: apt-get install python3-torch) and numpy.
The Go tests never run this script; they only read its committed outputs.

    python3 gen_fixtures.py gen            # (re)write the fixtures below
    python3 gen_fixtures.py verify DIR     # torch.load every *.pth Go wrote into DIR

Fixtures written (all tiny):
  views_zip.pth / views_legacy.pth   every storage dtype, strided/offset/expanded/
                                     channels_last/zero-dim/empty views, nested meta
  objects_zip.pth / objects_legacy.pth  unknown classes outside state_dict (numpy,
                                     HistoryBuffer-like NEWOBJ+BUILD, argparse, pathlib,
                                     torch.Size/device/dtype/layout, set, bytes) and an
                                     nn.Parameter inside state_dict
  proto4.pth                         pickle protocol 4, zip
  apple_unfused.pth.tar              Apple ml-mobileone key names (bare state dict)
  deflated.pth                       views_zip.pth with every record deflate-compressed
  expected.json                      contiguous values of every tensor above
"""
import argparse
import collections
import json
import os
import pathlib
import sys
import types
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def flat(t):
    t = t.detach().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    if t.dtype == torch.bool:
        t = t.to(torch.int64)
    return {"dtype": str(t.dtype).replace("torch.", "") if t.dtype not in (torch.float32,) else "float32",
            "shape": list(t.shape), "values": [fnum(v) if t.is_floating_point() else int(v) for v in t.reshape(-1).tolist()]}


def fnum(v):
    """JSON has no inf/nan: those become the strings "inf", "-inf", "nan"."""
    v = float(v)
    return v if v == v and abs(v) != float("inf") else str(v)


def views_obj():
    g = torch.Generator().manual_seed(0)
    base = torch.arange(24, dtype=torch.float32) / 8 - 1
    sd = collections.OrderedDict()
    sd["contig"] = torch.randn(2, 3, generator=g)
    sd["transposed"] = base[:12].view(3, 4).t()                         # stride (1, 4)
    sd["offset_view"] = base[4:10]                                       # shares base's storage, offset 4
    sd["channels_last"] = torch.randn(4, 3, 2, 2, generator=g).to(memory_format=torch.channels_last)
    sd["expanded"] = torch.tensor([1.5, -2.5]).view(2, 1).expand(2, 3)   # stride (1, 0)
    sd["zero_dim"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 5)
    sd["num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    sd["f16"] = torch.tensor([1.0, -2.0, 65504.0, 6e-8, float("inf")], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.5, -3e38, 0.1], dtype=torch.bfloat16)
    sd["f64"] = torch.tensor([0.1, 1e300, -2.5], dtype=torch.float64)
    sd["i64"] = torch.tensor([-2**63, 2**63 - 1, 0])
    sd["i32"] = torch.tensor([-2**31, 2**31 - 1], dtype=torch.int32)
    sd["i16"] = torch.tensor([-32768, 32767], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["i64_strided"] = torch.arange(10)[::3]
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])
    meta = {"dataset_meta": {"classes": ("cat", "dog", "ünïcode")}, "epoch": 3, "big": 2**70,
            "neg": -5, "flag": True, "none": None, "lr": 0.1, "list": [1, "x", ()], "": "empty key"}
    return {"meta": meta, "state_dict": sd}


class HistoryBuffer:  # stands in for mmengine.logging.HistoryBuffer (NEWOBJ + BUILD)
    def __init__(self):
        self._log_history = np.array([1.0, 2.0, 3.5])
        self._count_history = np.array([1, 1, 1])
        self.max_length = 1000000


def objects_obj():
    mod = types.ModuleType("mmengine.logging.history_buffer")
    sys.modules["mmengine"] = types.ModuleType("mmengine")
    sys.modules["mmengine.logging"] = types.ModuleType("mmengine.logging")
    sys.modules["mmengine.logging.history_buffer"] = mod
    HistoryBuffer.__module__ = mod.__name__
    mod.HistoryBuffer = HistoryBuffer
    sd = collections.OrderedDict()
    sd["w"] = torch.nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    sd["b"] = torch.tensor([0.5, -0.5], requires_grad=True)
    return {
        "meta": {"CLASSES": ["a", "b"], "np_array": np.arange(6, dtype=np.float32).reshape(2, 3),
                 "np_fortran": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
                 "np_scalar": np.float64(2.5), "np_int": np.int64(-3),
                 "args": argparse.Namespace(lr=0.1, name="x"), "path": pathlib.PurePosixPath("/a/b"),
                 "size": torch.Size([2, 3]), "device": torch.device("cpu"), "dtype": torch.float32,
                 "layout": torch.strided, "set": {1, 2}, "bytes": b"\x00\xff\x80abc"},
        "message_hub": {"log_scalars": {"train/loss": HistoryBuffer()}},
        "state_dict": sd,
    }


def apple_obj():
    g = torch.Generator().manual_seed(1)
    keys = [("stage0.rbr_conv.0.conv.weight", (4, 3, 3, 3)), ("stage0.rbr_conv.0.bn.weight", (4,)),
            ("stage0.rbr_conv.0.bn.num_batches_tracked", ()), ("stage0.rbr_scale.conv.weight", (4, 3, 1, 1)),
            ("stage0.rbr_scale.bn.running_var", (4,)), ("stage1.0.rbr_skip.running_mean", (4,)),
            ("stage1.1.reparam_conv.bias", (4,)), ("stage4.0.se.reduce.weight", (1, 4, 1, 1)),
            ("stage4.0.se.expand.bias", (4,)), ("linear.weight", (10, 4)), ("linear.bias", (10,))]
    sd = collections.OrderedDict()
    for k, s in keys:
        sd[k] = torch.tensor(0) if k.endswith("num_batches_tracked") else torch.randn(*s, generator=g)
    return sd


def expected_of(obj, prefix=""):
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(expected_of(v, f"{prefix}{k}/"))
    elif isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = flat(obj)
    return out


def deflate_copy(src, dst):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)


def gen():
    expected = {}
    v, o = views_obj(), objects_obj()
    torch.save(v, os.path.join(HERE, "views_zip.pth"))
    torch.save(v, os.path.join(HERE, "views_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(o, os.path.join(HERE, "objects_zip.pth"))
    torch.save(o, os.path.join(HERE, "objects_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(v, os.path.join(HERE, "proto4.pth"), pickle_protocol=4)
    torch.save(apple_obj(), os.path.join(HERE, "apple_unfused.pth.tar"))
    deflate_copy(os.path.join(HERE, "views_zip.pth"), os.path.join(HERE, "deflated.pth"))
    expected["views"] = expected_of(v["state_dict"])
    expected["objects"] = expected_of(o["state_dict"])
    expected["apple"] = {k: list(t.shape) for k, t in apple_obj().items()}
    expected["torch_version"] = torch.__version__
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=0, sort_keys=True)
    for name in ["views_zip.pth", "views_legacy.pth", "objects_zip.pth", "objects_legacy.pth", "proto4.pth", "deflated.pth"]:
        torch.load(os.path.join(HERE, name))
    print("ok", torch.__version__)


def check_content(name, obj):
    """Content checks for the files TestWriteFilesForTorch writes."""
    if name.startswith("sample"):
        sd = obj["state_dict"]
        assert isinstance(sd, collections.OrderedDict) and list(sd) == ["a.weight", "a.bn.num_batches_tracked", "empty", "ключ"]
        assert torch.equal(sd["a.weight"], torch.arange(1, 7, dtype=torch.float32).view(2, 3))
        assert sd["a.bn.num_batches_tracked"].dtype == torch.int64 and sd["a.bn.num_batches_tracked"].item() == 7
        assert sd["empty"].shape == (0, 5) and sd._metadata["a.bn"] == {"version": 2}
        m = obj["meta"]
        assert m["dataset_meta"]["classes"] == ("cat", "dog", "ünïcode") and m["big"] == 2**70 and m["neg"] == -5
        assert m[""] == "empty key" and m["list"] == [1, "x", ()] and m["none"] is None and m["flag"] is True
        d = obj["dtypes"]
        want = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64,
                "int64": torch.int64, "int32": torch.int32, "int16": torch.int16, "int8": torch.int8,
                "uint8": torch.uint8, "bool": torch.bool}
        for k, dt in want.items():
            assert d[k].dtype == dt, (k, d[k].dtype)
        assert d["int64"].item() == -2**63 and d["int64"].shape == ()
        assert d["float16"].tolist() == [1.0, -2.0, 65504.0, 5.960464477539063e-08]
        assert d["bool"].tolist() == [True, False, True] and d["float64"][1].item() == 1e300
    elif name.startswith("tiny_") or name.startswith("optimizer"):
        src = {"tiny_train_resaved.pth": "tiny_train.pth", "tiny_deploy_resaved.pth": "tiny_deploy.pth",
               "optimizer_resaved_floats.pth": "optimizer_base_lr.pth"}[name]
        ref = torch.load(os.path.join(HERE, src))
        same(ref, obj, name)
    elif name == "module.pth":
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(16, 2))
        net.load_state_dict(obj["state_dict"], strict=True)
        assert net[1].num_batches_tracked.item() == 5
        assert torch.equal(net[0].weight.reshape(-1), torch.arange(108, dtype=torch.float32) * 0.5)
        # mmengine-style: bare dict, module. prefix stripped by the caller
        net.load_state_dict(collections.OrderedDict((k, v) for k, v in obj["state_dict"].items()), strict=True)


def same(a, b, where):
    """Deep equality with bitwise tensor comparison (dtype, shape, stride-free values)."""
    assert type(a) == type(b), (where, type(a), type(b))
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad, where
        if a.numel():
            assert torch.equal(a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8)), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            same(a[k], b[k], f"{where}/{k}")
        assert getattr(a, "_metadata", None) == getattr(b, "_metadata", None), where
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), (where, a, b)


def verify(d):
    """Loads every Go-written *.pth in d with torch, default and weights_only.
    Files whose name ends in _floats.pth contain Python floats (BINFLOAT), which
    torch 1.13's weights-only unpickler refuses by design; that refusal is
    expected and reported, not counted as a failure."""
    ok = True
    for name in sorted(os.listdir(d)):
        if not name.endswith(".pth"):
            continue
        p = os.path.join(d, name)
        for wo in (False, True):
            try:
                obj = torch.load(p, weights_only=wo)
                check_content(name, obj)
                print(f"OK   {name} weights_only={wo} (content checked)")
            except Exception as e:  # noqa: BLE001
                expected = wo and name.endswith("_floats.pth")
                print(f"{'EXPECTED-FAIL' if expected else 'FAIL'} {name} weights_only={wo}: {type(e).__name__}: {e}")
                ok = ok and expected
        with zipfile.ZipFile(p) as z:
            assert z.testzip() is None, name
    print("all ok" if ok else "FAILURES")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["gen"]:
        gen()
    elif sys.argv[1:2] == ["verify"]:
        verify(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
