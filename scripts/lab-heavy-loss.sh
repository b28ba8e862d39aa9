#!/usr/bin/env bash
# The heavy-loss table of docs/PERFORMANCE.md: the fault lab's ring of five (scsp-bench lab), at
# each loss rate, with the faults kept on after the churn (convergence with faults on) and with
# the faults lifted as the churn stops (convergence once they are off). Each scspd given in
# SCSPDS ("label=/path/to/scspd ..."; default: this tree's release build) runs every case, side by
# side, one after the other. JSON lines go to docs/bench/lab.jsonl (moved aside first); the table
# is printed in Markdown.
#
#   scripts/lab-heavy-loss.sh
#   SCSPDS="before=/tmp/old/target/release/scspd after=target/release/scspd" scripts/lab-heavy-loss.sh
#   LOSSES="0.2 0.35" CHURN=30 scripts/lab-heavy-loss.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cargo build --release -q -p scspd -p scsp-bench
bench=target/release/scsp-bench
scspds=${SCSPDS:-"this=target/release/scspd"}
losses=${LOSSES:-"0 0.05 0.1 0.2 0.35"}
churn=${CHURN:-60}
out=docs/bench/lab.jsonl
mkdir -p docs/bench
[ -f "$out" ] && mv "$out" "$out.old"
for loss in $losses; do
    for s in $scspds; do
        label=${s%%=*}
        bin=${s#*=}
        for keep in 30 0; do
            SCSPD=$bin "$bench" --json lab --servers 5 --topology ring --loss "$loss" --delay-ms 10 \
                --dup 0.05 --reorder 0.25 --churn "$churn" --keep "$keep" --settle 60 \
                | jq -c --arg v "$label" '. + {version: $v}' | tee -a "$out"
        done
    done
done
echo
echo "| loss | scspd | lag p50 | lag p99 | changes never reached | converged, faults on | converged, faults off | lost / resurrected |"
echo "|---|---|---|---|---|---|---|---|"
jq -rs '
  def s: if . == null then "never" else (. * 100 | round / 100 | tostring) + " s" end;
  group_by([.loss, .version]) | .[] |
  (map(select(.keep_s > 0))[0]) as $on | (map(select(.keep_s == 0))[0]) as $off |
  "| \($on.loss * 100 | round)% | \($on.version) | \($on.lag_s.p50 | s) | \($on.lag_s.p99 | s) | \($on.lag_s.unreached) of \($on.lag_s.pairs) | \($on.converged_faults_on_s | s) | \($off.converged_faults_off_s | s) | \($on.end.lost + $off.end.lost) / \($on.end.resurrected + $off.end.resurrected) |"
' "$out"
