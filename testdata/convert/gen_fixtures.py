"""Make the fixtures of `mobileone convert --from apple|timm` (issue 12).

Builds small MobileOne models with random weights (BatchNorm statistics
included, so that fusing is not trivial) from the upstream definitions
themselves, saves their checkpoints as those projects do, and records their
logits on a fixed input:

  Apple ml-mobileone  b7f4e6d48884593c7eb46eedc53c3a097c09e957  mobileone.py
  timm                aa4b5850c1543fa488abf260f18390eda46cf85d  timm/models/byobnet.py

Run (Debian python3-torch 1.13, upstream trees under $MMENV_ROOT, default
/work/upstream):

  ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell PYTHONPATH=testdata/upstream \\
      /usr/bin/python3 testdata/convert/gen_fixtures.py

Files (all next to this script):
  input.bin                  float32 [2, 3, 32, 32], the input of every model
  apple_unfused.pth.tar      Apple's MobileOne(num_blocks_per_stage=[1, 1, 2, 1],
                             width_multipliers=(0.25, 0.25, 0.5, 0.25), use_se=True),
                             a bare state dict as Apple publishes it
  apple_fused.pth.tar        the same after Apple's reparameterize_model
  apple_logits.bin           float32 [2, 10], the unfused model's logits
  apple_fused_logits.bin     float32 [2, 10], the fused model's logits
  apple_tiny.py              the mmpretrain config of that arch (written by hand)
  timm_unfused.pth           timm ByobNet with _mobileone_bcfg(d=(1, 1, 2, 1),
                             wf=(0.25, 0.5, 0.25, 0.25), se_blocks=(0, 0, 1, 1),
                             num_conv_branches=2), stem 'one', 16 stem channels
  timm_fused.pth             the same after MobileOneBlock.reparameterize()
  timm_logits.bin, timm_fused_logits.bin, timm_tiny.py   as above (the config by hand)
"""
import os
import sys

import mmenv  # noqa: F401  (upstream trees on sys.path)

ROOT = os.environ.get("MMENV_ROOT", "/work/upstream")
sys.path.insert(0, os.path.join(ROOT, "ml-mobileone"))
sys.path.insert(0, os.path.join(ROOT, "pytorch-image-models"))

import torch  # noqa: E402

import mobileone as apple  # noqa: E402
from timm.models import byobnet  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def randomize(model, seed, gain=1.0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif p.dim() == 1:  # BN weight
                p.copy_(1 + torch.randn(p.shape, generator=g) * 0.2)
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * gain * (2.0 / fan_in) ** 0.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)
    return model.eval()


def save_bin(name, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(os.path.join(HERE, name))


def fuse(model, method):
    for m in model.modules():
        if hasattr(m, method):
            getattr(m, method)()
    return model


def main():
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    save_bin("input.bin", x)

    m = randomize(apple.MobileOne(num_blocks_per_stage=[1, 1, 2, 1], num_classes=10,
                                  width_multipliers=(0.25, 0.25, 0.5, 0.25), use_se=True), 1)
    with torch.no_grad():
        save_bin("apple_logits.bin", m(x))
        torch.save(m.state_dict(), os.path.join(HERE, "apple_unfused.pth.tar"))
        m = apple.reparameterize_model(m)  # returns a fused deep copy
        save_bin("apple_fused_logits.bin", m(x))
        torch.save(m.state_dict(), os.path.join(HERE, "apple_fused.pth.tar"))

    cfg = byobnet.ByoModelCfg(
        blocks=byobnet._mobileone_bcfg(d=(1, 1, 2, 1), wf=(0.25, 0.5, 0.25, 0.25), se_blocks=(0, 0, 1, 1),
                                       num_conv_branches=2),
        stem_type="one", stem_chs=16)
    # gain 0.8: four branches per block (identity, scale, 2 convs) would
    # otherwise grow the activations block after block (logits ~50).
    t = randomize(byobnet.ByobNet(cfg, num_classes=10), 2, gain=0.8)
    with torch.no_grad():
        save_bin("timm_logits.bin", t(x))
        torch.save(t.state_dict(), os.path.join(HERE, "timm_unfused.pth"))
        fuse(t, "reparameterize")
        save_bin("timm_fused_logits.bin", t(x))
        torch.save(t.state_dict(), os.path.join(HERE, "timm_fused.pth"))
    print("ok", torch.__version__)


if __name__ == "__main__":
    main()
