"""One training step of the tiny MobileOne under fine-tuning options, run by
upstream mmpretrain/mmengine, for pkg/train's parity tests.

Run from the repository root:

    ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell PYTHONPATH=testdata/upstream \
        /usr/bin/python3 testdata/train/finetune/gen_finetune_steps.py

Upstream: mmpretrain ee7f2e88501f61aa95c742dd5f429f039935ee90, mmengine
254342938d9bde1775c39ea7d5181c5d294026c4 (see testdata/upstream/mmenv.py),
Debian's python3-torch 1.13.

Every variant starts from testdata/checkpoint/tiny_train.pth and the
fixture batch testdata/train/batch_inputs.bin (8 normalized 64x64 images)
with the labels of tiny_step.py, builds tiny_step.py's model with mmpretrain's
MODELS registry, the optimizer with mmengine's build_optim_wrapper
(DefaultOptimWrapperConstructor), calls model.train() (which applies
frozen_stages and norm_eval), and does what BaseModel.train_step does after
the data preprocessor: loss, backward, optimizer step. It writes
<variant>.pth = {"loss": float, "state_dict": the model after the step,
"optimizer": the OptimWrapper's state_dict()} and, for head3, the head as
initialized before the step ("init_head").
"""
import copy
import os
import sys

import mmenv  # noqa: F401  (upstream trees on sys.path)

import numpy as np
import torch

from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner.checkpoint import load_checkpoint

import mmpretrain.models  # noqa: F401  (registers the model types)
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
CKPT = os.path.join(ROOT, 'testdata', 'checkpoint', 'tiny_train.pth')
LABELS = [0, 3, 1, 6, 3, 4, 9, 7]

# The tiny MobileOne and its SGD settings are tiny_step.py's.
STEP = Config.fromfile(os.path.join(ROOT, 'testdata', 'train', 'tiny_step.py'))
MODEL = STEP.model.to_dict()
SGD = STEP.optim_wrapper.optimizer.to_dict()
VARIANTS = {
    # frozen stem + stage1 + stage2, BN momentum 0.03 / eps 1e-3
    'frozen2_bn': dict(backbone=dict(frozen_stages=2, norm_cfg=dict(type='BN', momentum=0.03, eps=1e-3)),
                       optimizer=SGD, paramwise_cfg=dict(norm_decay_mult=0.)),
    # every BatchNorm in eval mode, weights still trained
    'norm_eval': dict(backbone=dict(norm_eval=True), optimizer=SGD, paramwise_cfg=dict(norm_decay_mult=0.)),
    'adamw': dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05), paramwise_cfg=dict(norm_decay_mult=0.)),
    'adam': dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-4)),
    'nesterov': dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)),
    # a 3-class head on the 10-class checkpoint (labels mod 3)
    'head3': dict(head=dict(num_classes=3), optimizer=SGD, paramwise_cfg=dict(norm_decay_mult=0.)),
}


def merge(a, b):
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def main():
    mmenv.check_isa()
    torch.set_num_threads(1)
    x = torch.from_numpy(np.fromfile(os.path.join(ROOT, 'testdata', 'train', 'batch_inputs.bin'),
                                     dtype='<f4').reshape(8, 3, 64, 64).copy())
    for name, v in VARIANTS.items():
        cfg = merge(MODEL, {k: v[k] for k in ('backbone', 'head') if k in v})
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        model.init_weights()
        out = {}
        if name == 'head3':
            out['init_head'] = {k: t.clone() for k, t in model.state_dict().items() if k.startswith('head.')}
        load_checkpoint(model, CKPT, map_location='cpu', strict=False, logger='silent')
        ow_cfg = dict(optimizer=v['optimizer'])
        if 'paramwise_cfg' in v:
            ow_cfg['paramwise_cfg'] = v['paramwise_cfg']
        optim_wrapper = build_optim_wrapper(model, ow_cfg)
        model.train()
        k = cfg['head']['num_classes']
        samples = [DataSample().set_gt_label(l % k) for l in LABELS]
        losses = model(x, samples, mode='loss')
        parsed, _ = model.parse_losses(losses)
        optim_wrapper.update_params(parsed)
        out['loss'] = float(parsed.item())
        out['state_dict'] = model.state_dict()
        out['optimizer'] = optim_wrapper.state_dict()
        path = os.path.join(HERE, name + '.pth')
        torch.save(out, path)
        print(f'{name}: loss {out["loss"]:.9g} -> {os.path.relpath(path, ROOT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
