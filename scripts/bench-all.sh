#!/usr/bin/env bash
# Every figure of docs/PERFORMANCE.md: builds in release mode, runs each case of scsp-bench
# (REPEAT times, median reported; default 3), prints each result line, appends the JSON results to docs/bench/*.jsonl
# (moved aside first) and redraws docs/align.png.
#
#   scripts/bench-all.sh             # needs redis-server (apt-get install -y redis-server)
#                                    # and matplotlib (pip install matplotlib)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
repeat=${REPEAT:-3}
cargo build --release -p scspd -p scsp-bench
bench=target/release/scsp-bench
out=docs/bench
mkdir -p "$out"
for f in align flood memory; do
    [ -f "$out/$f.jsonl" ] && mv "$out/$f.jsonl" "$out/$f.jsonl.old"
done
for n in 10000 100000 1000000; do
    for mtu in 1472 65000; do
        "$bench" --json align --entries "$n" --mtu "$mtu" --redis --repeat "$repeat" >>"$out/align.jsonl"
    done
done
"$bench" --json align --entries 100000 --mtu 65000 --overlap 0.9 --repeat "$repeat" >>"$out/align.jsonl"
"$bench" --json align --entries 1000000 --mtu 65000 --overlap 0.9 --repeat "$repeat" >>"$out/align.jsonl"
for rate in max 10000; do
    for i in $(seq "$repeat"); do
        "$bench" --json flood --rate "$rate" --seconds 5 >>"$out/flood.jsonl"
    done
done
"$bench" --json memory --entries 1000000 >>"$out/memory.jsonl"
python3 scripts/plot_align.py "$out/align.jsonl" docs/align.png
