"""What upstream's analysis tools print and compute on upstream's results file.

    ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell PYTHONPATH=testdata/upstream \
        /usr/bin/python3 testdata/evaluate/gen_tools.py ../shared/fixtures/results/s0_deploy_preds.pkl

Runs mmpretrain's tools/analysis_tools/eval_metric.py (rich.print of the
metrics, 80 columns as on a pipe) with several --metric sets, and
confusion_matrix.py's offline path (ConfusionMatrix over the pickle), on the
results file that upstream's tools/test.py wrote (s0_deploy_preds.pkl, 30
images of 1000 classes), and eval_metric.py on tiny_preds.pkl, which
`mobileone test` wrote. Writes tools.json: per run the arguments and the
exact stdout; the confusion matrix as its non-zero (gt, pred, count) cells.
Upstream: mmpretrain ee7f2e88501f61aa95c742dd5f429f039935ee90, mmengine
254342938d9bde1775c39ea7d5181c5d294026c4, python3-rich 13.3.
"""
import contextlib
import io
import json
import os
import runpy
import sys

import mmenv
import mmengine
from mmengine.evaluator import Evaluator

from mmpretrain.evaluation import ConfusionMatrix

HERE = os.path.dirname(os.path.abspath(__file__))
# on tiny_preds.pkl (written by `mobileone test`, see README.md): upstream's
# tool reading our pickle
TINY_RUNS = [
    ['--metric', 'type=Accuracy', 'topk=1,2,3', 'thrs=0.1,0.2,0.3,None',
     '--metric', 'type=SingleLabelMetric', 'average=micro', 'items=support,f1-score'],
    ['--metric', 'type=ConfusionMatrix',
     '--metric', 'type=SingleLabelMetric', 'average=None', 'items=support,recall'],
]
RUNS = [
    ['--metric', 'type=Accuracy', 'topk=1,5'],
    ['--metric', 'type=Accuracy', 'topk=1,5', 'thrs=0.1,None',
     '--metric', 'type=SingleLabelMetric', 'items=precision,recall,f1-score,support', 'average=micro',
     '--metric', 'type=SingleLabelMetric'],
    ['--metric', 'type=SingleLabelMetric', 'thrs=0.05,0.2', 'prefix=sl',
     '--metric', 'type=ConfusionMatrix'],
]


def eval_metric(pkl, args):
    sys.argv = ['eval_metric.py', pkl] + args
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        runpy.run_path(mmenv.ROOT + '/mmpretrain/tools/analysis_tools/eval_metric.py', run_name='__main__')
    return dict(args=args, stdout=buf.getvalue())


def main(pkl):
    os.environ.pop('COLUMNS', None)
    out = dict(pkl=os.path.basename(pkl))
    out['eval_metric'] = [eval_metric(pkl, args) for args in RUNS]
    out['tiny_eval_metric'] = [eval_metric(os.path.join(HERE, 'tiny_preds.pkl'), args) for args in TINY_RUNS]
    # confusion_matrix.py's .pkl path
    cm = Evaluator(ConfusionMatrix()).offline_evaluate(mmengine.load(pkl), None)['confusion_matrix/result']
    out['confusion_matrix'] = dict(shape=list(cm.shape), cells=[[i, j, int(cm[i, j])] for i, j in cm.nonzero().tolist()])
    with open(os.path.join(HERE, 'tools.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    mmenv.check_isa()
    main(sys.argv[1])
