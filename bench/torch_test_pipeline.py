#!/usr/bin/env python3
"""Baseline for `make bench-test`: PyTorch 1.13 + Pillow doing what
`mobileone test` does per image (decode, ResizeEdge 256 bilinear, CenterCrop
224, normalize, MobileOne-s0 deploy forward, softmax, top-5), on 2 threads.

The model is a minimal re-implementation of the reparameterized (deploy)
MobileOne-s0 with random weights (mmpretrain is not needed: only the speed
matters). Run with Debian's python3-torch / python3-pil:

    /usr/bin/python3 bench/torch_test_pipeline.py --images ../shared/fixtures/imagenet/val --repeat 10

Prints images/s for two set-ups: decoding in the main thread between forward
passes ("serial"), and a DataLoader with 2 worker processes ("dataloader").
Not used by the Go tests.
"""
import argparse
import glob
import os
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32).reshape(3, 1, 1)


def s0_deploy(num_classes=1000):
    """MobileOne-s0 after switch_to_deploy: every block is one conv + ReLU
    (depthwise 3x3 then pointwise 1x1), widths 48/48/128/256/1024."""
    layers = [nn.Conv2d(3, 48, 3, 2, 1), nn.ReLU()]
    cin = 48
    for cout, n in [(48, 2), (128, 8), (256, 10), (1024, 1)]:
        for i in range(n):
            stride = 2 if i == 0 else 1
            layers += [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin), nn.ReLU(),
                       nn.Conv2d(cin, cout, 1), nn.ReLU()]
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers).eval()


def preprocess(path):
    img = Image.open(path).convert('RGB')
    w, h = img.size
    if w < h:
        nw, nh = 256, int(256 * h / w)
    else:
        nw, nh = int(256 * w / h), 256
    img = img.resize((nw, nh), Image.BILINEAR)
    x1, y1 = int(round((nw - 224) / 2)), int(round((nh - 224) / 2))
    img = img.crop((x1, y1, x1 + 224, y1 + 224))
    a = np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32)
    return torch.from_numpy((a - MEAN) / STD)


class Files(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return preprocess(self.files[i])


def evaluate(model, batches):
    n = 0
    with torch.no_grad():
        for x in batches:
            scores = model(x).softmax(1)
            scores.topk(5, dim=1)
            n += x.shape[0]
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--images', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'fixtures', 'imagenet', 'val'))
    ap.add_argument('--repeat', type=int, default=10)
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--mode', choices=['serial', 'dataloader', 'both'], default='both')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    files = sorted(glob.glob(os.path.join(args.images, '*')))
    files = files * args.repeat
    model = s0_deploy()
    evaluate(model, [torch.randn(args.batch_size, 3, 224, 224)])  # warm-up
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {len(files)} images, batch {args.batch_size}')
    if args.mode in ('serial', 'both'):
        t0 = time.perf_counter()
        def batches():
            for lo in range(0, len(files), args.batch_size):
                yield torch.stack([preprocess(f) for f in files[lo:lo + args.batch_size]])
        n = evaluate(model, batches())
        dt = time.perf_counter() - t0
        print(f'serial:     {n} images in {dt:.2f} s: {n / dt:.1f} images/s')
    if args.mode in ('dataloader', 'both'):
        loader = torch.utils.data.DataLoader(Files(files), batch_size=args.batch_size, num_workers=args.threads)
        t0 = time.perf_counter()
        n = evaluate(model, loader)
        dt = time.perf_counter() - t0
        print(f'dataloader: {n} images in {dt:.2f} s: {n / dt:.1f} images/s ({args.threads} worker processes)')


if __name__ == '__main__':
    main()
