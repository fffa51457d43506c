"""Plots scripts/bench.sh's concurrency sweep: req/s and p99 latency per route."""

import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

source, target = sys.argv[1], sys.argv[2]
series = defaultdict(list)
with open(source) as f:
    for row in csv.DictReader(f):
        series[row["route"]].append(
            (int(row["connections"]), float(row["rps"] or 0), float(row["p99_ms"] or 0))
        )

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
for route, points in series.items():
    points.sort()
    conns = [p[0] for p in points]
    left.plot(conns, [p[1] for p in points], marker="o", label=route)
    right.plot(conns, [p[2] for p in points], marker="o", label=route)
for axis, title, label in (
    (left, "Throughput", "requests/s (successful)"),
    (right, "Tail latency", "p99 (ms)"),
):
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xlabel("concurrent connections")
    axis.set_ylabel(label)
    axis.set_title(title)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
fig.suptitle("passflow, release build, wrk on 127.0.0.1 (2 cores shared with the load generator)")
fig.tight_layout()
fig.savefig(target, dpi=110)
