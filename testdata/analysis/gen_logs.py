"""Make the scalar-log fixtures of pkg/analysis/logs with upstream mmengine and
mmpretrain (commits in ../upstream/mmenv.py):

- mmengine_epoch/scalars.json: a real mmengine Runner (EpochBasedTrainLoop, 3
  epochs of 10 iterations, LoggerHook interval 2, validation every epoch) on a
  toy torch model, logged by mmengine's LocalVisBackend;
- mmengine_iter/scalars.json: the same with IterBasedTrainLoop and
  log_processor=dict(by_epoch=False) (no "epoch");
- *.cal_train_time.txt / *.cal_train_time_outliers.txt: what
  tools/analysis_tools/analyze_logs.py cal_train_time prints for each of those
  and for ours/scalars.json (written by `mobileone train`, committed beside).

Run from the repository root:
    PYTHONPATH=testdata/upstream /usr/bin/python3 testdata/analysis/gen_logs.py
"""
import contextlib
import glob
import io
import os
import shutil
import sys
import tempfile
import time

import mmenv  # noqa: F401  (upstream trees on sys.path)
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.runner import Runner

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(mmenv.ROOT, "mmpretrain", "tools", "analysis_tools"))
import analyze_logs  # noqa: E402  (upstream's tool, imported as a module)


class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, inputs, labels, mode="tensor"):
        x = inputs
        y = labels
        time.sleep(0.002)  # iteration times that vary visibly
        logits = self.fc(x)
        if mode == "loss":
            return {"loss": torch.nn.functional.cross_entropy(logits, y)}
        return list(zip(logits.argmax(1), y))


class Acc(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(int(p == g) for p, g in data_samples)

    def compute_metrics(self, results):
        return {"accuracy/top1": 100.0 * sum(results) / len(results)}


def dataset(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return [dict(inputs=x[i], labels=y[i]) for i in range(n)]


def run(name, train_cfg, **extra):
    work = tempfile.mkdtemp()
    loader = lambda n, seed, shuffle: dict(  # noqa: E731
        dataset=dataset(n, seed), batch_size=8, num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=shuffle), collate_fn=dict(type="default_collate"))
    runner = Runner(
        model=Toy(), work_dir=work,
        train_dataloader=loader(80, 0, True), val_dataloader=loader(40, 1, False),
        val_evaluator=Evaluator([Acc()]), train_cfg=train_cfg, val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2),
                           checkpoint=dict(type="CheckpointHook", interval=1000)),
        visualizer=dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")]),
        randomness=dict(seed=0), experiment_name=name, **extra)
    runner.train()
    src = glob.glob(os.path.join(work, "*", "vis_data", "scalars.json"))[0]
    dst = os.path.join(HERE, name, "scalars.json")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy(src, dst)
    shutil.rmtree(work)


def cal_train_time(name):
    path = os.path.join(HERE, name, "scalars.json")
    for outliers, suffix in [(False, ""), (True, "_outliers")]:
        args = type("Args", (), dict(json_logs=[f"{name}/scalars.json"], include_outliers=outliers))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            analyze_logs.cal_train_time([analyze_logs.load_json_log(path)], args)
        with open(os.path.join(HERE, name, f"cal_train_time{suffix}.txt"), "w") as f:
            f.write(out.getvalue())


if __name__ == "__main__":
    run("mmengine_epoch", dict(by_epoch=True, max_epochs=3, val_interval=1))
    run("mmengine_iter", dict(by_epoch=False, max_iters=30, val_interval=10),
        log_processor=dict(by_epoch=False))
    for name in ["mmengine_epoch", "mmengine_iter", "ours"]:
        cal_train_time(name)
