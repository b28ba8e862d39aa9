#!/usr/bin/env bash
# Three scspd daemons in a line A - B - C on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (UDP ports
# 17001-17003; configurations A.conf, B.conf, C.conf beside this script). Entries originated at
# A and at C reach all three caches through B; the script waits until the three caches are
# equal, prints them, and stops the daemons.
#
#   examples/line-demo.sh            # 3 entries at each end
#   ENTRIES=50 examples/line-demo.sh # more
#   SCSP_BIN=target/debug examples/line-demo.sh   # with binaries built already
#   PORTS="27001 27002 27003" examples/line-demo.sh  # other ports for A, B and C
#
# Needs Linux (all of 127/8 answers on lo) and no root (the ports are unprivileged).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
entries=${ENTRIES:-3}
timeout_s=${TIMEOUT:-30}

if [ -n "${SCSP_BIN:-}" ]; then
    # Binaries built already (the test suite runs this script with its own).
    scspd="$SCSP_BIN/scspd"
    scspctl="$SCSP_BIN/scspctl"
else
    echo "building (cargo build --release) ..."
    (cd "$top" && cargo build --release --quiet --bin scspd --bin scspctl)
    target_dir=$(cd "$top" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    target_dir=${target_dir:-$top/target}
    scspd="$target_dir/release/scspd"
    scspctl="$target_dir/release/scspctl"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/scspd-line-demo.XXXXXX")
pids=()
stop() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT

# The configurations as written, or with the ports of A, B and C replaced by those in $PORTS.
confs=$here
if [ -n "${PORTS:-}" ]; then
    read -r port_a port_b port_c <<<"$PORTS"
    confs=$work
    for x in A B C; do
        sed -e "s/Port 17001;/Port $port_a;/" -e "s/Port 17002;/Port $port_b;/" \
            -e "s/Port 17003;/Port $port_c;/" "$here/$x.conf" >"$work/$x.conf"
    done
fi

echo "starting A, B and C (logs in $work)"
for x in A B C; do
    "$scspd" -d -f "$confs/$x.conf" --socket "$work/$x.sock" --state-dir "$work/$x.state" >"$work/$x.log" 2>&1 &
    pids+=("$!")
done
for x in A B C; do
    for _ in $(seq 100); do
        "$scspctl" -s "$work/$x.sock" show servers >/dev/null 2>&1 && break
        sleep 0.1
    done
    "$scspctl" -s "$work/$x.sock" show servers >/dev/null ||
        { echo "daemon $x did not start; its log:"; cat "$work/$x.log"; exit 1; }
done

echo "originating $entries entries at A and $entries at C"
for i in $(seq "$entries"); do
    "$scspctl" -s "$work/A.sock" add s_a "$(printf 'a%07x' "$i")" "$(printf '0a%06x' "$i")" >/dev/null
    "$scspctl" -s "$work/C.sock" add s_a "$(printf 'c%07x' "$i")" "$(printf '0c%06x' "$i")" >/dev/null
done

# The caches compared without the fields that differ between daemons by nature (the age of an
# entry, and whether it was originated there); scspctl prints one field a line.
cache() {
    "$scspctl" -s "$work/$1.sock" show cache s_a --json | grep -v -E '"(age_s|local)"'
}
want=$((2 * entries))
start=$(date +%s)
while :; do
    a=$(cache A) b=$(cache B) c=$(cache C)
    n=$(grep -o '"originator"' <<<"$a" | wc -l)
    if [ "$a" = "$b" ] && [ "$b" = "$c" ] && [ "$n" -eq "$want" ]; then
        break
    fi
    if [ $(($(date +%s) - start)) -ge "$timeout_s" ]; then
        echo "FAILED: the caches were not equal after ${timeout_s}s (A has $n of $want entries)."
        echo "Logs are in $work; the DCS states:"
        for x in A B C; do "$scspctl" -s "$work/$x.sock" show dcs || true; done
        trap - EXIT
        stop
        exit 1
    fi
    sleep 0.2
done
echo "aligned: the three caches are equal ($want entries) after $(($(date +%s) - start))s"
for x in A B C; do
    echo "--- cache of $x"
    "$scspctl" -s "$work/$x.sock" show cache s_a
done
stop
trap - EXIT
rm -rf "$work"
echo "stopped."
