"""Reference outputs of mmengine's DefaultSampler and collect_results_cpu.

Runs upstream mmengine (254342938d9bde1775c39ea7d5181c5d294026c4, with
addict 75284f9593dfb929cadd900aff9e35e7c7aec54b on sys.path) on PyTorch
1.13 (Debian's python3-torch) and writes sampler.json: for each case the
indices every rank's DefaultSampler yields, and what collect_results_cpu
returns on rank 0 when every rank's part is its list of indices.

    /usr/bin/python3 testdata/dist/gen_sampler.py > testdata/dist/sampler.json
"""
import json
import sys
import tempfile

sys.path[:0] = ['/work/upstream/mmengine', '/work/upstream/addict']

import mmengine.dataset.sampler as sampler_mod  # noqa: E402
import mmengine.dist.dist as dist_mod  # noqa: E402

CASES = [
    # n, world_size, shuffle, seed, round_up, epoch
    (30, 1, False, 0, True, 0),
    (30, 3, False, 0, True, 0),
    (30, 4, False, 0, True, 0),
    (30, 4, False, 0, False, 0),
    (7, 3, False, 0, True, 0),
    (7, 3, False, 0, False, 0),
    (5, 8, False, 0, True, 0),
    (5, 8, False, 0, False, 0),
    (1, 3, False, 0, True, 0),
    (30, 1, True, 0, True, 0),
    (30, 3, True, 0, True, 0),
    (30, 4, True, 42, True, 3),
    (100, 7, True, 12345, True, 0),
    (100, 7, True, 12345, False, 0),
    (1000, 5, True, 2**32 + 7, True, 0),
]


def run_case(n, world, shuffle, seed, round_up, epoch):
    ranks = []
    for rank in range(world):
        sampler_mod.get_dist_info = lambda: (rank, world)
        s = sampler_mod.DefaultSampler(list(range(n)), shuffle=shuffle, seed=seed, round_up=round_up)
        s.set_epoch(epoch)
        idx = list(iter(s))
        assert len(idx) == len(s)
        ranks.append(idx)
    # collect_results_cpu, rank by rank: ranks > 0 dump their parts and
    # return None, then rank 0 merges (barrier is a no-op here).
    dist_mod.barrier = lambda *a, **k: None
    tmp = tempfile.mkdtemp()
    merged = None
    for rank in reversed(range(world)):
        dist_mod.get_dist_info = lambda: (rank, world)
        merged = dist_mod.collect_results_cpu(list(ranks[rank]), n, tmpdir=tmp)
    return dict(n=n, world_size=world, shuffle=shuffle, seed=seed, round_up=round_up,
                epoch=epoch, ranks=ranks, collected=merged)


print(json.dumps([run_case(*c) for c in CASES]))
