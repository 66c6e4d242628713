#!/usr/bin/env python3
"""Prints the issue #5 comparison table from run.sh's results.jsonl.

Per cell (kind, arch, batch, size, threads) and side: the median over
rounds of each run's median time ("ms") and the best single iteration over
all rounds ("min"). Ratios are Go time / other time (lower is better), with
the ratio of the best iterations in brackets; the verdicts on issue #13's
targets are given for both (the machine is shared, and medians move with
other tenants). The header names the CPU (CPU_MODEL, CPU_FLAGS from run.sh).
"""
import json
import os
import statistics
import sys
from collections import defaultdict


def main(path):
    runs = defaultdict(list)
    blas = ""
    loads = []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        runs[(r["kind"], r["arch"], r["batch"], r["size"], r["threads"], r["side"])].append(r)
        blas = r.get("blas") or blas
        loads.append(r.get("load", 0))
    cells = sorted({k[:5] for k in runs}, key=lambda c: (c[0] != "infer", c[2], c[4], c[1], c[3]))

    def stat(cell, side):
        rs = runs.get(cell + (side,))
        if not rs:
            return None
        return statistics.median(r["median_ms"] for r in rs), min(r["min_ms"] for r in rs), len(rs)

    def fmt(s):
        return "—" if s is None else "%.1f (%.1f)" % (s[0], s[1])

    def ratio(a, b, inv=False):
        if a is None or b is None:
            return None
        return b[0] / a[0] if inv else a[0] / b[0]

    def rfmt(x):
        return "—" if x is None else "%.2f" % x

    before = any(k[5] == "go-before" for k in runs)
    avx2 = any(k[5] == "go-avx2" for k in runs)
    cpu = os.environ.get("CPU_MODEL")
    if cpu:
        print("CPU: %s (family %s), %s logical CPUs; flags: %s" % (
            cpu, os.environ.get("CPU_FAMILY", "?"), os.environ.get("CPU_COUNT", "?"), os.environ.get("CPU_FLAGS", "").strip()))
        print()
    hb = " Go before ms (min) | before/after time |" if before else ""
    ha = " Go AVX2 ms (min) | AVX2/ORT time |" if avx2 else ""
    print("| what | threads | Go ms (min) |%s%s PyTorch ms (min) | ORT ms (min) | Go/ORT time (best) | Go/PyTorch time | Go img/s | target | met? (median, best) |" % (ha, hb))
    print("|---|---|---|%s%s---|---|---|---|---|---|---|" % ("---|---|" if avx2 else "", "---|---|" if before else ""))
    for cell in cells:
        kind, arch, batch, size, th = cell
        go, pt, ort = stat(cell, "go"), stat(cell, "torch"), stat(cell, "ort")
        r_ort, r_pt = ratio(go, ort), ratio(go, pt)
        best_ort = None if go is None or ort is None else go[1] / ort[1]
        what = "%s %s b%d %dpx" % (arch, "deploy infer" if kind == "infer" else "train step", batch, size)
        target, met = "", ""

        def verdict(ok_med, ok_best):
            return "%s, %s" % ("yes" if ok_med else "no", "yes" if ok_best else "no")
        if go is not None and r_ort is not None and kind == "infer":
            # issue 13's targets, as ratios of times (img/s inverted)
            if batch == 1:
                lim = (0.90 if th == 2 else 0.95) if arch == "s0" else 1.0
                target = "≤%.2f× ORT time" % lim
                met = verdict(r_ort <= lim, best_ort <= lim)
            elif th == 2:
                target = "≥1.15× ORT img/s (now %.2f×, best %.2f×)" % (1 / r_ort, 1 / best_ort)
                met = verdict(1 / r_ort >= 1.15, 1 / best_ort >= 1.15)
        elif kind == "train" and before:
            gb = stat(cell, "go-before")
            if gb is not None and go is not None:
                target = "not slower than before"
                met = verdict(go[0] <= gb[0] * 1.03, go[1] <= gb[1] * 1.03)
        gips = "—" if go is None else "%.1f" % (batch / go[0] * 1000)
        ca, cb = "", ""
        if avx2:
            ga = stat(cell, "go-avx2")
            ca = " %s | %s |" % (fmt(ga), rfmt(ratio(ga, ort)))
        if before:
            gb = stat(cell, "go-before")
            cb = " %s | %s |" % (fmt(gb), rfmt(ratio(gb, go)))
        ro = rfmt(r_ort) + ("" if best_ort is None else " (%.2f)" % best_ort)
        print("| %s | %d | %s |%s%s %s | %s | %s | %s | %s | %s | %s |" % (
            what, th, fmt(go), ca, cb, fmt(pt), fmt(ort), ro, rfmt(r_pt), gips, target, met))
    n = max((len(v) for v in runs.values()), default=0)
    print()
    print("Medians over up to %d interleaved rounds; PyTorch BLAS: %s; load average during the runs: %.1f–%.1f on %s CPUs." % (
        n, blas or "?", min(loads, default=0), max(loads, default=0), os.environ.get("CPU_COUNT", "?")))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results.jsonl")
