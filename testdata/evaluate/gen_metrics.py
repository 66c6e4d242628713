"""Reference metrics for pkg/evaluate, made by upstream mmpretrain's metric
classes and printed by mmengine's LogProcessor (the `Epoch(test)` line that
tools/test.py logs).

Upstream: mmpretrain ee7f2e88501f61aa95c742dd5f429f039935ee90, mmengine
254342938d9bde1775c39ea7d5181c5d294026c4 (see ../upstream/mmenv.py), run with
Debian's python3-torch 1.13:

    ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell \
        PYTHONPATH=testdata/upstream /usr/bin/python3 testdata/evaluate/gen_metrics.py

Writes, per case, <case>_scores.f32 (float32 softmax scores, N x C, little
endian) and metrics.json: the labels, the evaluator configs, the metrics as
upstream returns them (name, Python repr of the value, float values exactly)
and the log line with data_time 0.25 and time 0.5.
"""
import json
import os
import types

import mmenv  # noqa: F401  (sys.path + stubs)
import torch
from mmengine.evaluator import Evaluator
from mmengine.hooks import RuntimeInfoHook
from mmengine.logging import MessageHub
from mmengine.runner import LogProcessor

from mmpretrain.evaluation import Accuracy, ConfusionMatrix, SingleLabelMetric  # noqa: F401
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [
    # The done-when of issue 10: a 3-class test set, no top-5.
    dict(name='three_classes', classes=3, n=30, seed=1, metrics=[
        dict(type='Accuracy', topk=(1, )),
        dict(type='SingleLabelMetric', average='macro'),
        dict(type='SingleLabelMetric', average='micro', items=('precision', 'recall')),
    ]),
    # Thresholds, classwise lists, support, a prefix and a small matrix.
    dict(name='ten_classes', classes=10, n=200, seed=2, metrics=[
        dict(type='Accuracy', topk=(1, 5), thrs=(0., 0.2, None)),
        dict(type='SingleLabelMetric', thrs=(0.3, None), average=None,
             items=('precision', 'recall', 'f1-score', 'support')),
        dict(type='SingleLabelMetric', average='micro', items=('f1-score', 'support'), prefix='micro'),
        dict(type='SingleLabelMetric', thrs=0.25, items=('support', 'precision')),
        dict(type='ConfusionMatrix'),
    ]),
    # 40 classes: torch's cascade sum over 5 vectors for the macro mean, and a
    # summarized (1600 element) matrix repr.
    dict(name='forty_classes', classes=40, n=300, seed=3, metrics=[
        dict(type='Accuracy', topk=(1, 3, 5, 10)),
        dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score', 'support')),
        dict(type='ConfusionMatrix'),
    ]),
    # 30 classes, 900 samples: an unsummarized matrix whose rows wrap.
    dict(name='thirty_classes', classes=30, n=900, seed=6, metrics=[
        dict(type='ConfusionMatrix'),
        dict(type='SingleLabelMetric', average='micro', items=('support', )),
    ]),
    # One class.
    dict(name='one_class', classes=1, n=4, seed=4, metrics=[
        dict(type='Accuracy'),
        dict(type='SingleLabelMetric'),
    ]),
]


def scores_for(classes, n, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, classes, generator=g) * 2
    labels = torch.randint(0, classes, (n, ), generator=g)
    # make the ground truth win often enough for non-trivial metrics
    boost = torch.rand(n, generator=g) < 0.5
    logits[torch.arange(n)[boost], labels[boost]] += 2
    return torch.softmax(logits, dim=1).float(), labels


def log_line(metrics, batches):
    hub = MessageHub.get_instance('gen_metrics')
    hub.update_scalar('test/data_time', 0.25)
    hub.update_scalar('test/time', 0.5)
    loop = types.SimpleNamespace(dataloader=list(range(batches)))
    runner = types.SimpleNamespace(message_hub=hub, test_loop=loop, iter=0)
    RuntimeInfoHook().after_test_epoch(runner, metrics)
    _, line = LogProcessor().get_log_after_epoch(runner, batches, 'test', with_non_scalar=True)
    # forget this case's keys for the next one
    hub._log_scalars.clear()
    hub._runtime_info.clear()
    return line


def encode(v):
    if isinstance(v, torch.Tensor):
        return dict(tensor=v.tolist(), repr=repr(v))
    if isinstance(v, list):
        return dict(list=v, repr=repr(v))
    return dict(value=v, repr=repr(v), int=isinstance(v, int))


def main():
    out = []
    for case in CASES:
        scores, labels = scores_for(case['classes'], case['n'], case['seed'])
        scores.numpy().astype('<f4').tofile(os.path.join(HERE, f"{case['name']}_scores.f32"))
        samples = [DataSample().set_gt_label(int(l)).set_pred_score(s) for s, l in zip(scores, labels)]
        ev = Evaluator([METRICS.build(dict(m)) for m in case['metrics']])
        ev.process([s.to_dict() for s in samples])
        metrics = ev.evaluate(len(samples))
        out.append(dict(
            name=case['name'], classes=case['classes'], labels=labels.tolist(),
            evaluator=case['metrics'], metrics=[dict(name=k, **encode(v)) for k, v in metrics.items()],
            log=log_line(metrics, 4)))
    # Predicted labels only (no pred_score): Accuracy gives top1 whatever its
    # topk, SingleLabelMetric and ConfusionMatrix need num_classes.
    scores, labels = scores_for(5, 50, 7)
    preds = scores.argmax(dim=1)
    metrics_cfg = [dict(type='Accuracy', topk=(1, 5)),
                   dict(type='SingleLabelMetric', num_classes=5, items=('precision', 'recall', 'f1-score', 'support')),
                   dict(type='ConfusionMatrix', num_classes=5)]
    ev = Evaluator([METRICS.build(dict(m)) for m in metrics_cfg])
    ev.process([DataSample().set_gt_label(int(l)).set_pred_label(int(p)).to_dict() for p, l in zip(preds, labels)])
    metrics = ev.evaluate(50)
    out.append(dict(name='labels_only', classes=5, labels=labels.tolist(), pred_labels=preds.tolist(),
                    evaluator=metrics_cfg, metrics=[dict(name=k, **encode(v)) for k, v in metrics.items()],
                    log=log_line(metrics, 4)))
    # A 3-class set with topk=(1, 5): upstream's error.
    scores, labels = scores_for(3, 6, 5)
    ev = Evaluator([Accuracy(topk=(1, 5))])
    ev.process([DataSample().set_gt_label(int(l)).set_pred_score(s).to_dict() for s, l in zip(scores, labels)])
    try:
        ev.evaluate(6)
        raise SystemExit('no error')
    except ValueError as e:
        err = str(e)
    with open(os.path.join(HERE, 'metrics.json'), 'w') as f:
        json.dump(dict(cases=out, top5_of_3_error=err), f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    mmenv.check_isa()
    main()


def gen_torch_sum():
    """torch_sum.f32: vectors of sizes SUM_SIZES back to back; torch_sum.json:
    torch.sum and torch.mean of each (float32, as Python floats)."""
    sizes = list(range(1, 71)) + [127, 128, 129, 999, 5000]
    g = torch.Generator().manual_seed(8)
    vecs = [(torch.rand(n, generator=g) * 100).float() for n in sizes]
    torch.cat(vecs).numpy().astype('<f4').tofile(os.path.join(HERE, 'torch_sum.f32'))
    with open(os.path.join(HERE, 'torch_sum.json'), 'w') as f:
        json.dump(dict(sizes=sizes, sum=[v.sum().item() for v in vecs], mean=[v.mean(0).item() for v in vecs]), f)
        f.write('\n')


if __name__ == '__main__':
    gen_torch_sum()
