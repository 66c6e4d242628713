"""Make the analyze-results fixture with upstream mmpretrain (commits in
../../upstream/mmenv.py):

- preds.pkl: 40 predictions over the val images of testdata/fashion-mnist
  (the test set of testdata/demo/fmnist_demo.py), pickled as mmengine.dump
  writes tools/test.py --out results (tensors for labels and scores), with
  seeded random scores, some tied at their maximum;
- upstream/: what tools/analysis_tools/analyze_results.py writes for it
  with --topk 6 --rescale-factor 4: the file names of success/ and fail/
  (upstream_files.txt) and the two JSON lists.

Run from the repository root:
    PYTHONPATH=testdata/upstream /usr/bin/python3 testdata/analysis/results/gen_results.py
"""
import os
import shutil
import sys
import tempfile

import mmenv  # noqa: F401  (upstream trees on sys.path)
import mmengine
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = "testdata/demo/fmnist_demo.py"

sys.path.insert(0, os.path.join(mmenv.ROOT, "mmpretrain", "tools", "analysis_tools"))
import analyze_results  # noqa: E402  (upstream's tool, imported as a module)


def make_preds():
    from mmpretrain.datasets import build_dataset
    cfg = mmengine.Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.pipeline = []
    ds = build_dataset(cfg.test_dataloader.dataset)
    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(ds), generator=g)[:40].tolist()
    preds = []
    for k, i in enumerate(idx):
        info = ds.get_data_info(i)
        gt = info["gt_label"]
        logits = torch.randn(10, generator=g) * 2
        if k % 3 == 0:
            logits[gt] += 3  # a share of successes
        score = torch.softmax(logits, 0).float()
        if k in (5, 6, 7):
            score = torch.full((10,), 0.1)  # ties: every class at 0.1
        label = int(score.argmax())
        preds.append(dict(img_path=info["img_path"], sample_idx=i, num_classes=10,
                          gt_label=torch.tensor([gt]), pred_score=score,
                          pred_label=torch.tensor([label])))
    mmengine.dump(preds, os.path.join(HERE, "preds.pkl"))


def run_upstream():
    out = tempfile.mkdtemp()
    sys.argv = ["analyze_results.py", CONFIG, os.path.join(HERE, "preds.pkl"),
                "--out-dir", out, "--topk", "6", "--rescale-factor", "4"]
    analyze_results.main()
    dst = os.path.join(HERE, "upstream")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    names = []
    for sub in ["success", "fail"]:
        for f in sorted(os.listdir(os.path.join(out, sub))):
            names.append(f"{sub}/{f}")
        shutil.copy(os.path.join(out, sub, sub + ".json"), dst)
    with open(os.path.join(dst, "upstream_files.txt"), "w") as f:
        f.write("\n".join(sorted(names)) + "\n")
    # one annotated picture of each gallery, for a person to compare
    for sub in ["success", "fail"]:
        pngs = sorted(p for p in os.listdir(os.path.join(out, sub)) if p.endswith(".png"))
        shutil.copy(os.path.join(out, sub, pngs[0]), os.path.join(dst, f"{sub}_example.png"))
    shutil.rmtree(out)


if __name__ == "__main__":
    make_preds()
    run_upstream()
