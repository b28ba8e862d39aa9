#!/usr/bin/env python3
"""Plot re-alignment bytes and time against K, from `scsp-bench --json realign` lines.

    scripts/plot_realign.py realign.jsonl docs/realign.png

Two panels, bytes and seconds, each with one line per MTU for RFC 2334 Cache Alignment and one
for the reconciliation extension (docs/reconciliation.md). Needs matplotlib
(`pip install matplotlib`).
"""
import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    # (path, mtu) -> K -> (bytes, seconds); the last line of a case wins.
    points = defaultdict(dict)
    entries = set()
    for line in open(src):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if r.get("case") != "realign":
            continue
        entries.add(r["entries"])
        k, mtu = r["diff"], r["mtu"]
        points[("RFC Cache Alignment", mtu)][k] = (r["rfc_bytes"], r["rfc_s"])
        points[("extension", mtu)][k] = (r["ext_bytes"], r["ext_s"])

    fig, (ax_b, ax_t) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=120)
    for (path, mtu), by_k in sorted(points.items()):
        ks = sorted(by_k)
        style = "s--" if path.startswith("RFC") else "o-"
        label = f"{path}, MTU {mtu}"
        ax_b.plot(ks, [by_k[k][0] for k in ks], style, label=label)
        ax_t.plot(ks, [by_k[k][1] for k in ks], style, label=label)
    for ax, what in ((ax_b, "bytes, both ways"), (ax_t, "seconds until both hold the union")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("K, instances that differ")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    ax_b.legend(fontsize=8)
    n = ", ".join(f"{e:,}" for e in sorted(entries))
    fig.suptitle(f"Re-alignment of two servers of N = {n} entries on loopback (2 cores, one run)")
    fig.tight_layout()
    fig.savefig(dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
