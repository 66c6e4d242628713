"""Checks a `mobileone test --out` results pickle with upstream's own tools.

    ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell PYTHONPATH=testdata/upstream \
        /usr/bin/python3 testdata/evaluate/check_results.py OURS.pkl UPSTREAM.pkl

It loads OURS.pkl with pickle.load and mmengine.load, compares its structure
(keys in order, Python types, tensor dtypes and shapes) with UPSTREAM.pkl
(tools/test.py --out of mmpretrain, e.g. ../shared/fixtures/results/
s0_deploy_preds.pkl), and runs mmpretrain's
tools/analysis_tools/eval_metric.py on both with Accuracy(topk=1,5),
SingleLabelMetric (all items, macro) and SingleLabelMetric(average=micro).
Upstream: mmpretrain ee7f2e88501f61aa95c742dd5f429f039935ee90, mmengine
254342938d9bde1775c39ea7d5181c5d294026c4.
"""
import pickle
import runpy
import sys

import mmenv
import mmengine
import torch

METRICS = ['--metric', 'type=Accuracy', 'topk=1,5',
           '--metric', 'type=SingleLabelMetric', 'items=precision,recall,f1-score,support',
           '--metric', 'type=SingleLabelMetric', 'average=micro']


def describe(sample):
    out = []
    for k, v in sample.items():
        if isinstance(v, torch.Tensor):
            out.append((k, 'Tensor', str(v.dtype), tuple(v.shape)))
        else:
            out.append((k, type(v).__name__))
    return out


def main(ours, upstream):
    a = pickle.load(open(ours, 'rb'))
    b = mmengine.load(ours)
    u = pickle.load(open(upstream, 'rb'))
    assert len(a) == len(b) == len(u), (len(a), len(b), len(u))
    for x, y in zip(a, u):
        assert describe(x) == describe(y), (describe(x), describe(y))
    print('structure: identical to upstream for', len(a), 'samples')
    print('pred_label equal:', all(bool((x['pred_label'] == y['pred_label']).all()) for x, y in zip(a, u)))
    print('pred_score max |diff|:', max(float((x['pred_score'] - y['pred_score']).abs().max()) for x, y in zip(a, u)))
    for f in (ours, upstream):
        print('eval_metric.py', f)
        sys.argv = ['eval_metric.py', f] + METRICS
        runpy.run_path(mmenv.ROOT + '/mmpretrain/tools/analysis_tools/eval_metric.py', run_name='__main__')


if __name__ == '__main__':
    mmenv.check_isa()
    main(*sys.argv[1:3])
