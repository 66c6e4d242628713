"""Checkpoints of upstream mmengine's Runner for the round-trip tests of
`mobileone train --resume` (pkg/cmd/train).

Run from the repository root:

    ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell PYTHONPATH=testdata/upstream \
        /usr/bin/python3 testdata/train/mmengine/gen_runner_ckpts.py [GO_ITER_1]

Upstream: mmpretrain ee7f2e88501f61aa95c742dd5f429f039935ee90, mmengine
254342938d9bde1775c39ea7d5181c5d294026c4 (testdata/upstream/mmenv.py),
Debian's python3-torch 1.13.

The run is testdata/train/tiny_step.py (8 fixed images, deterministic
pipeline, no shuffle, load_from the tiny checkpoint) as an
IterBasedTrainLoop of 2 iterations of batch 8 (the whole set; batches of 4 make BatchNorm over 2x2 maps ill-conditioned enough that float32 rounding differences grow to 1% in a step), with a LinearLR warm-up, an
EMAHook and a checkpoint every iteration: mmengine's Runner writes
iter_1.pth and iter_2.pth, kept here.

With GO_ITER_1 (an iter_1.pth written by `mobileone train` for the same
config, with its iter_2.pth beside it), mmengine's Runner resumes from it
and runs iteration 2; go_resumed_by_mmengine.json records how far that
iter_2.pth is from the one `mobileone train` wrote (max abs difference of
every weight, buffer and optimizer state tensor; meta; the scheduler state
keys that differ).
"""
import json
import os
import shutil
import sys
import tempfile

import mmenv  # noqa: F401

import torch
from mmengine.config import Config
from mmengine.runner import Runner

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))


def config(work_dir, resume=None):
    cfg = Config.fromfile(os.path.join(ROOT, 'testdata', 'train', 'tiny_step.py'))
    cfg.work_dir = work_dir
    cfg.default_scope = 'mmpretrain'
    cfg.train_dataloader.batch_size = 8
    cfg.train_dataloader.dataset.data_root = os.path.join(ROOT, 'testdata', 'train', 'step_data')
    cfg.train_cfg = dict(by_epoch=False, max_iters=2)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=2)]
    cfg.custom_hooks = [dict(type='EMAHook', momentum=0.1, priority='ABOVE_NORMAL', update_buffers=True)]
    cfg.default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
                             logger=dict(type='LoggerHook', interval=1))
    cfg.load_from = os.path.join(ROOT, 'testdata', 'checkpoint', 'tiny_train.pth')
    cfg.randomness = dict(seed=0)
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'), mp_cfg=dict(mp_start_method='fork'))
    if resume:
        cfg.load_from = resume
        cfg.resume = True
    return cfg


def tensors(prefix, obj, out):
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            tensors(f'{prefix}.{k}' if prefix else str(k), v, out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            tensors(f'{prefix}.{i}', v, out)


def main():
    mmenv.check_isa()
    torch.set_num_threads(1)
    work = tempfile.mkdtemp()
    Runner.from_cfg(config(work)).train()
    for n in (1, 2):
        shutil.copy(os.path.join(work, f'iter_{n}.pth'), os.path.join(HERE, f'iter_{n}.pth'))
    if len(sys.argv) > 1:
        work2 = tempfile.mkdtemp()
        Runner.from_cfg(config(work2, resume=os.path.abspath(sys.argv[1]))).train()
        ours = torch.load(os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), 'iter_2.pth'))
        theirs = torch.load(os.path.join(work2, 'iter_2.pth'))
        a, b = {}, {}
        for key in ('state_dict', 'optimizer', 'ema_state_dict'):
            tensors(key, ours[key], a)
            tensors(key, theirs[key], b)
        report = {
            'tensors': len(a),
            'same_keys': sorted(a) == sorted(b),
            'max_abs_diff': max(float((a[k].double() - b[k].double()).abs().max()) for k in a if k in b),
            'meta_epoch_iter': [theirs['meta']['epoch'], theirs['meta']['iter']],
            'param_schedulers_differing_keys': [
                sorted(k for k in set(s) | set(t) if s.get(k) != t.get(k))
                for s, t in zip(ours['param_schedulers'], theirs['param_schedulers'])],
        }
        with open(os.path.join(HERE, 'go_resumed_by_mmengine.json'), 'w') as f:
            json.dump(report, f, indent=1, sort_keys=True)
        print(report, file=sys.stderr)


if __name__ == '__main__':
    main()
