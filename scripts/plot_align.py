#!/usr/bin/env python3
"""Plot alignment time against the number of entries, from `scsp-bench --json align` lines.

    scripts/plot_align.py docs/bench/align.jsonl docs/align.png

One line per MTU for scspd (the median of its runs, error bars from the fastest to the slowest)
and one for Redis's full sync (from the runs that had --redis). Needs matplotlib
(`pip install matplotlib`).
"""
import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    scspd = defaultdict(dict)  # mtu -> entries -> (median, min, max)
    redis = {}  # entries -> (median, min, max)
    for line in open(src):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if r.get("case") != "align" or r.get("overlap", 0) or r.get("profile") != "generic":
            continue
        n = r["entries"]
        runs = [x["seconds"] for x in r["scspd_runs"]]
        scspd[r["mtu"]][n] = (r["scspd"], min(runs), max(runs))
        if r.get("redis") is not None:
            rr = [x["seconds"] for x in r["redis_runs"]]
            old = redis.get(n)
            if old is None or len(rr) > old[3]:
                redis[n] = (r["redis"], min(rr), max(rr), len(rr))

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)

    def series(points, label, style, dy=-10):
        xs = sorted(points)
        med = [points[x][0] for x in xs]
        lo = [points[x][0] - points[x][1] for x in xs]
        hi = [points[x][2] - points[x][0] for x in xs]
        ax.errorbar(xs, med, yerr=[lo, hi], fmt=style, capsize=3, label=label)
        for x, y in zip(xs, med):
            ax.annotate(f"{y:.3g}s", (x, y), textcoords="offset points", xytext=(6, dy),
                        fontsize=8)

    for mtu in sorted(scspd):
        series(scspd[mtu], f"scspd, MTU {mtu}", "o-")
    if redis:
        series(redis, "Redis replica full sync", "s--", dy=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("entries (40-byte data)")
    ax.set_ylabel("seconds until both sides are identical")
    ax.set_title("Alignment of a fresh server on loopback (2 cores; median of runs)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
