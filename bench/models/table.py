#!/usr/bin/env python3
"""Prints the issue #5 comparison table from run.sh's results.jsonl.

Per cell (kind, arch, batch, size, threads) and side: the median over
rounds of each run's median time ("ms") and the best single iteration over
all rounds ("min"). Ratios are Go time / other time (lower is better for
latency) and Go images/s / other images/s (higher is better for
throughput); verdicts use the medians and the issue's 2-thread targets.
"""
import json
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
    hb = " Go before ms (min) | before/after time |" if before else ""
    print("| what | threads | Go ms (min) |%s PyTorch ms (min) | ORT ms (min) | Go/ORT time | Go/PyTorch time | Go img/s | target (2 threads) | met? |" % hb)
    print("|---|---|---|%s---|---|---|---|---|---|---|" % ("---|---|" if before else ""))
    for cell in cells:
        kind, arch, batch, size, th = cell
        go, pt, ort = stat(cell, "go"), stat(cell, "torch"), stat(cell, "ort")
        r_ort, r_pt = ratio(go, ort), ratio(go, pt)
        what = "%s %s b%d %dpx" % (arch, "deploy infer" if kind == "infer" else "train step", batch, size)
        target, met = "", ""
        if th == 2 and go is not None:
            if kind == "infer" and batch == 1:
                parts, ok = [], True
                if r_ort is not None:
                    parts.append("≤0.8× ORT")
                    ok &= r_ort <= 0.8
                if arch == "s0" and r_pt is not None:
                    parts.append("≤0.5× PyTorch")
                    ok &= r_pt <= 0.5
                target, met = ", ".join(parts), ("yes" if ok else "no")
            elif kind == "infer" and r_ort is not None:
                target = "≥1.25× ORT img/s (now %.2f×)" % (1 / r_ort)
                met = "yes" if 1 / r_ort >= 1.25 else "no"
            elif kind == "train" and r_pt is not None:
                target = "≥1.0× PyTorch img/s (now %.2f×)" % (1 / r_pt)
                met = "yes" if 1 / r_pt >= 1.0 else "no"
        gips = "—" if go is None else "%.1f" % (batch / go[0] * 1000)
        cb = ""
        if before:
            gb = stat(cell, "go-before")
            cb = " %s | %s |" % (fmt(gb), rfmt(ratio(gb, go)))
        print("| %s | %d | %s |%s %s | %s | %s | %s | %s | %s | %s |" % (
            what, th, fmt(go), cb, fmt(pt), fmt(ort), rfmt(r_ort), rfmt(r_pt), gips, target, met))
    n = max((len(v) for v in runs.values()), default=0)
    print()
    print("Medians over up to %d interleaved rounds; PyTorch BLAS: %s; load average during the runs: %.1f–%.1f on %s." % (
        n, blas or "?", min(loads, default=0), max(loads, default=0), "2 cores"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results.jsonl")
