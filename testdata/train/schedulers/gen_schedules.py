"""Parameter-scheduler values of upstream mmengine for pkg/setup's
TestSchedulersMatchMmengine.

Run from the repository root:

    PYTHONPATH=testdata/upstream /usr/bin/python3 testdata/train/schedulers/gen_schedules.py

Upstream: mmengine 254342938d9bde1775c39ea7d5181c5d294026c4
(testdata/upstream/mmenv.py), Debian's python3-torch 1.13.

Each case is a param_scheduler list as a config writes it. It is built the
way mmengine's Runner builds it (default end = max_epochs or the
iterations of the run, convert_to_iter_based, epoch_length 4) on
torch.optim.SGD with two param groups (lr 0.1 and 0.05, momentum 0.9,
weight_decay 1e-4) and stepped as the ParamSchedulerHook does over 3
epochs of 4 iterations (iteration-based ones after every iteration, the
others after every epoch). values[i] is [lr, momentum, weight_decay] of
both groups at iteration i, before its optimizer step.
"""
import json
import os

import mmenv  # noqa: F401

import torch
from mmengine.optim.scheduler import *  # noqa: F401,F403  (registers them)
from mmengine.registry import PARAM_SCHEDULERS

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS, EPOCH_LEN = 3, 4

CASES = [
    [dict(type='LinearLR', start_factor=0.25, by_epoch=False, begin=0, end=5)],
    [dict(type='ConstantLR', factor=0.5, begin=1, end=3)],
    [dict(type='CosineAnnealingLR', T_max=2, eta_min=0.01, begin=1, end=3)],
    [dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, convert_to_iter_based=True)],
    [dict(type='MultiStepLR', milestones=[1, 2], gamma=0.5)],
    [dict(type='StepLR', step_size=2, gamma=0.3, by_epoch=False)],
    [dict(type='PolyLR', eta_min=0.001, power=2.0, by_epoch=False, end=10)],
    [dict(type='ExponentialLR', gamma=0.9, by_epoch=False)],
    [dict(type='OneCycleLR', eta_max=0.3, total_steps=12, by_epoch=False)],
    [dict(type='OneCycleLR', eta_max=0.3, by_epoch=False, three_phase=True, anneal_strategy='linear', pct_start=0.25)],
    [dict(type='CosineAnnealingMomentum', eta_min=0.5, by_epoch=False)],
    [dict(type='LinearMomentum', start_factor=0.5, by_epoch=True, begin=0, end=2, convert_to_iter_based=True)],
    [dict(type='CosineAnnealingParamScheduler', param_name='weight_decay', eta_min=0.)],
    [dict(type='StepParamScheduler', param_name='weight_decay', step_size=1, gamma=0.5)],
    # the MobileOne recipe's shape
    [dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
     dict(type='CosineAnnealingLR', T_max=2, eta_min=1e-6, by_epoch=True, begin=1, end=3),
     dict(type='CosineAnnealingParamScheduler', param_name='weight_decay', eta_min=1e-5, by_epoch=True, begin=0, end=3)],
]


def build(cfg):
    cfg = dict(cfg)
    by_epoch = cfg.get('by_epoch', True)
    cfg.setdefault('end', EPOCHS if by_epoch else EPOCHS * EPOCH_LEN)  # Runner's default end
    return cfg


def main():
    out = []
    for case in CASES:
        p1, p2 = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([dict(params=[p1]), dict(params=[p2], lr=0.05)], lr=0.1, momentum=0.9, weight_decay=1e-4)
        scheds = [PARAM_SCHEDULERS.build(build(c), default_args=dict(optimizer=opt, epoch_length=EPOCH_LEN)) for c in case]
        values = []
        for e in range(EPOCHS):
            for i in range(EPOCH_LEN):
                values.append([[g[k] for k in ('lr', 'momentum', 'weight_decay')] for g in opt.param_groups])
                opt.step()
                for s in scheds:
                    if not s.by_epoch:
                        s.step()
            for s in scheds:
                if s.by_epoch:
                    s.step()
        out.append(dict(param_scheduler=case, values=values))
    with open(os.path.join(HERE, 'schedules.json'), 'w') as f:
        json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
