#!/usr/bin/env bash
# Run every fuzz target of fuzz/ for SECONDS each (default 60), one after another, and print per
# target the executions and whether it crashed. Exit status 1 if any target crashed (or failed to
# run), 0 otherwise.
#
#   scripts/fuzz-all.sh [SECONDS] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Corpora live in
# fuzz/corpus/<target> (created and seeded from the project's vectors by scripts/fuzz-seeds.py,
# kept between runs), crash inputs in fuzz/artifacts/<target>/, each target's libFuzzer output in
# fuzz/logs/<target>.log. Targets run one at a time, each on one core. libFuzzer stops a target at
# its first crash (or timeout, or memory limit), so "crashes" is 0 or 1 per target and run.
set -euo pipefail

secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

python3 "$root/scripts/fuzz-seeds.py" "$root"
echo "building the fuzz targets…"
cargo +nightly fuzz build >/dev/null 2>"logs-build.txt" || {
    cat logs-build.txt >&2
    exit 1
}
rm -f logs-build.txt
mkdir -p logs

status=0
rows=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    before=$(find "artifacts/$t" -type f | wc -l)
    start=$(date +%s)
    echo "fuzzing $t for ${secs}s…"
    set +e
    cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" >"logs/$t.log" 2>&1
    rc=$?
    set -e
    wall=$(($(date +%s) - start))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | tail -1 | grep -o '[0-9]*$' || true)
    after=$(find "artifacts/$t" -type f | wc -l)
    crashes=$((after - before))
    corpus=$(find "corpus/$t" -type f | wc -l)
    verdict=ok
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        verdict="FAILED (exit $rc; see fuzz/logs/$t.log, fuzz/artifacts/$t/)"
        status=1
    fi
    rows+=("$(printf '%-20s %12s %8s %8s %6s  %s' "$t" "${execs:-?}" "$crashes" "$corpus" "${wall}s" "$verdict")")
done

echo
printf '%-20s %12s %8s %8s %6s  %s\n' target executions crashes corpus time result
for r in "${rows[@]}"; do echo "$r"; done
exit $status
