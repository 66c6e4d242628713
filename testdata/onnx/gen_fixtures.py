"""ONNX files written by another exporter (torch.onnx), for the tests of
`mobileone validate` and pkg/onnx.Import (issue 12).

  mmpretrain_tiny_deploy.onnx  upstream mmpretrain's ImageClassifier built from
                               testdata/demo/mobileone-tiny_demo_deploy.py with
                               testdata/checkpoint/tiny_deploy.pth loaded (SE in the
                               last stage), torch.onnx.export opset 13, dynamic batch
  timm_tiny_fused.onnx         timm's ByobNet of testdata/convert/timm_fused.pth
                               (ReduceMean SE pooling), opset 11, static batch 1
  torch_logits.json            each model's logits in PyTorch on
                               testdata/convert/input.bin ([2, 3, 32, 32]; the timm
                               file, batch 1, on its first image)

Made with Debian's python3-torch 1.13 and the upstream trees of mmenv.py plus
timm aa4b5850c1543fa488abf260f18390eda46cf85d:

  ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell PYTHONPATH=testdata/upstream \\
      /usr/bin/python3 testdata/onnx/gen_fixtures.py
"""
import json
import os
import sys

import mmenv  # noqa: F401

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(mmenv.ROOT, "pytorch-image-models"))


class Logits(torch.nn.Module):
    """ImageClassifier in tensor mode: backbone, neck, head.fc (no softmax)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x, mode="tensor")


def main():
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules
    from timm.models import byobnet

    register_all_modules()
    x = torch.from_numpy(np.fromfile(os.path.join(TESTDATA, "convert", "input.bin"), "<f4").reshape(2, 3, 32, 32))
    out = {}

    cfg = Config.fromfile(os.path.join(TESTDATA, "demo", "mobileone-tiny_demo_deploy.py"))
    m = MODELS.build(cfg.model)
    ck = torch.load(os.path.join(TESTDATA, "checkpoint", "tiny_deploy.pth"), map_location="cpu")
    m.load_state_dict(ck["state_dict"], strict=True)
    m = Logits(m).eval()
    with torch.no_grad():
        out["mmpretrain_tiny_deploy"] = m(x).flatten().tolist()
        torch.onnx.export(m, x, os.path.join(HERE, "mmpretrain_tiny_deploy.onnx"), input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=13, do_constant_folding=True)

    bcfg = byobnet.ByoModelCfg(
        blocks=byobnet._mobileone_bcfg(d=(1, 1, 2, 1), wf=(0.25, 0.5, 0.25, 0.25), se_blocks=(0, 0, 1, 1),
                                       num_conv_branches=2),
        stem_type="one", stem_chs=16)
    t = byobnet.ByobNet(bcfg, num_classes=10)
    for mod in t.modules():
        if hasattr(mod, "reparameterize"):
            mod.reparameterize()
    t.load_state_dict(torch.load(os.path.join(TESTDATA, "convert", "timm_fused.pth")), strict=True)
    t.eval()
    with torch.no_grad():
        out["timm_tiny_fused"] = t(x[:1]).flatten().tolist()
        torch.onnx.export(t, x[:1], os.path.join(HERE, "timm_tiny_fused.onnx"), input_names=["x"],
                          output_names=["y"], opset_version=11, do_constant_folding=True)
    out["torch_version"] = torch.__version__
    with open(os.path.join(HERE, "torch_logits.json"), "w") as f:
        json.dump(out, f, indent=1)
    print("ok", torch.__version__)


if __name__ == "__main__":
    main()
