#!/usr/bin/env python3
"""PyTorch side of the model benchmarks (issue #5).

A plain torch.nn re-implementation of mmpretrain's MobileOne (s0..s4) with
mmpretrain's module names, so a state dict written by `mobileone
reparameterize` (deploy) or a train-time checkpoint loads with strict=True.

Sub-commands (each prints one JSON object per measurement on stdout):

  infer  --arch s0 --batch 1 --threads 2 [--size 224] [--checkpoint X.pth]
         eval-mode deploy graph, torch.no_grad(), median ms per batch
  train  --arch s0 --batch 32 --size 224 --threads 2
         one SGD training step of the train-time graph (train-mode BN,
         forward + cross-entropy + backward + SGD(momentum 0.9, wd 1e-4))
  export --arch s0 --out s0_deploy.onnx [--checkpoint X.pth]
         torch.onnx.export of the deploy graph, dynamic batch axis

Run it with Debian's interpreter (/usr/bin/python3, which has python3-torch).
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# mmpretrain mobileone.py arch_zoo (pkg/model/arch.go mirrors it)
ARCH_ZOO = {
    "s0": dict(num_blocks=[2, 8, 10, 1], width_factor=[0.75, 1.0, 1.0, 2.0],
               num_conv_branches=[4, 4, 4, 4], num_se_blocks=[0, 0, 0, 0]),
    "s1": dict(num_blocks=[2, 8, 10, 1], width_factor=[1.5, 1.5, 2.0, 2.5],
               num_conv_branches=[1, 1, 1, 1], num_se_blocks=[0, 0, 0, 0]),
    "s2": dict(num_blocks=[2, 8, 10, 1], width_factor=[1.5, 2.0, 2.5, 4.0],
               num_conv_branches=[1, 1, 1, 1], num_se_blocks=[0, 0, 0, 0]),
    "s3": dict(num_blocks=[2, 8, 10, 1], width_factor=[2.0, 2.5, 3.0, 4.0],
               num_conv_branches=[1, 1, 1, 1], num_se_blocks=[0, 0, 0, 0]),
    "s4": dict(num_blocks=[2, 8, 10, 1], width_factor=[3.0, 3.5, 3.5, 4.0],
               num_conv_branches=[1, 1, 1, 1], num_se_blocks=[0, 0, 5, 1]),
}


def make_divisible(value, divisor, min_value=None, min_ratio=0.9):
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


class ConvModule(nn.Module):
    """mmcv ConvModule reduced to what SELayer uses (keys: conv.weight/bias)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x):
        return self.conv(x)


class SELayer(nn.Module):
    def __init__(self, channels, ratio=16):
        super().__init__()
        sq = make_divisible(channels // ratio, 8)
        self.conv1 = ConvModule(channels, sq)
        self.conv2 = ConvModule(sq, channels)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.conv2(F.relu(self.conv1(s))))
        return x * s


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, padding, groups):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=False)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.norm(self.conv(x))


class MobileOneBlock(nn.Module):
    def __init__(self, cin, cout, k, stride, padding, groups, num_convs, se, deploy):
        super().__init__()
        self.se = SELayer(cout) if se else nn.Identity()
        if deploy:
            self.branch_reparam = nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=True)
            return
        self.branch_reparam = None
        self.branch_norm = nn.BatchNorm2d(cin) if (cout == cin and stride == 1) else None
        self.branch_scale = ConvBN(cin, cout, 1, stride, 0, groups) if k > 1 else None
        self.branch_conv_list = nn.ModuleList(
            [ConvBN(cin, cout, k, stride, padding, groups) for _ in range(num_convs)])

    def forward(self, x):
        if self.branch_reparam is not None:
            return F.relu(self.se(self.branch_reparam(x)))
        out = 0
        if self.branch_norm is not None:
            out = self.branch_norm(x)
        if self.branch_scale is not None:
            out = out + self.branch_scale(x)
        for cb in self.branch_conv_list:
            out = out + cb(x)
        return F.relu(self.se(out))


class Backbone(nn.Module):
    def __init__(self, arch, deploy):
        super().__init__()
        a = ARCH_ZOO[arch]
        base = [64, 128, 256, 512]
        wf = a["width_factor"]
        c0 = min(64, int(64 * wf[0]))
        self.stage0 = MobileOneBlock(3, c0, 3, 2, 1, 1, 1, False, deploy)
        cin = c0
        for s in range(4):
            planes = int(base[s] * wf[s])
            n = a["num_blocks"][s]
            nc = a["num_conv_branches"][s]
            layers = []
            for j in range(n):
                stride = 2 if j == 0 else 1
                se = j >= n - a["num_se_blocks"][s]
                layers.append(MobileOneBlock(cin, cin, 3, stride, 1, cin, nc, se, deploy))
                layers.append(MobileOneBlock(cin, planes, 1, 1, 0, 1, nc, se, deploy))
                cin = planes
            setattr(self, "stage%d" % (s + 1), nn.Sequential(*layers))
        self.out_channels = cin

    def forward(self, x):
        x = self.stage0(x)
        for s in range(1, 5):
            x = getattr(self, "stage%d" % s)(x)
        return x


class Head(nn.Module):
    def __init__(self, cin, num_classes):
        super().__init__()
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(x)


class ImageClassifier(nn.Module):
    def __init__(self, arch, deploy, num_classes=1000):
        super().__init__()
        self.backbone = Backbone(arch, deploy)
        self.head = Head(self.backbone.out_channels, num_classes)

    def forward(self, x):
        x = self.backbone(x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def build(arch, deploy, checkpoint=None, num_classes=1000):
    torch.manual_seed(0)
    m = ImageClassifier(arch, deploy, num_classes)
    if checkpoint:
        sd = torch.load(checkpoint, map_location="cpu")
        if isinstance(sd, dict) and "state_dict" in sd:
            sd = sd["state_dict"]
        m.load_state_dict(sd, strict=True)
    return m


def timeit(fn, warmup, iters, budget_s):
    for _ in range(warmup):
        fn()
    times = []
    t_end = time.perf_counter() + budget_s
    for i in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        if i >= 2 and time.perf_counter() > t_end:
            break
    return times


def emit(rec):
    print(json.dumps(rec), flush=True)


def cmd_infer(a):
    torch.set_num_threads(a.threads)
    m = build(a.arch, True, a.checkpoint).eval()
    x = torch.randn(a.batch, 3, a.size, a.size)
    with torch.no_grad():
        times = timeit(lambda: m(x), a.warmup, a.iters, a.budget)
    med = statistics.median(times)
    emit(dict(side="torch", kind="infer", arch=a.arch, batch=a.batch, size=a.size, threads=a.threads,
              median_ms=med, min_ms=min(times), images_per_s=a.batch / med * 1000, iters=len(times),
              torch=torch.__version__))


def cmd_train(a):
    torch.set_num_threads(a.threads)
    m = build(a.arch, False).train()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, 1000, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()

    times = timeit(step, a.warmup, a.iters, a.budget)
    med = statistics.median(times)
    emit(dict(side="torch", kind="train", arch=a.arch, batch=a.batch, size=a.size, threads=a.threads,
              median_ms=med, min_ms=min(times), images_per_s=a.batch / med * 1000, iters=len(times),
              torch=torch.__version__))


def cmd_export(a):
    m = build(a.arch, True, a.checkpoint).eval()
    x = torch.randn(1, 3, a.size, a.size)
    torch.onnx.export(m, x, a.out, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=13, do_constant_folding=True)
    emit(dict(side="torch", kind="export", arch=a.arch, out=a.out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("infer", "train", "export"):
        s = sub.add_parser(name)
        s.add_argument("--arch", default="s0", choices=sorted(ARCH_ZOO))
        s.add_argument("--size", type=int, default=224)
        s.add_argument("--checkpoint")
        if name == "export":
            s.add_argument("--out", required=True)
            continue
        s.add_argument("--batch", type=int, default=1)
        s.add_argument("--threads", type=int, default=1)
        s.add_argument("--warmup", type=int, default=2)
        s.add_argument("--iters", type=int, default=20)
        s.add_argument("--budget", type=float, default=10.0, help="stop timing after this many seconds (min 3 iterations)")
    a = p.parse_args()
    {"infer": cmd_infer, "train": cmd_train, "export": cmd_export}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
