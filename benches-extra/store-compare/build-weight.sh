#!/bin/sh
# Dependency weight of each candidate store: crates pulled (cargo tree, normal + build deps) and
# the wall time of a clean `cargo build` (dev profile, as CI's tests build) and `cargo build
# --release`, each in a throw-away crate depending on that store alone, with its own empty target
# directory (the registry sources are fetched first, so download time is not counted).
# Usage: sh benches-extra/store-compare/build-weight.sh [WORKDIR]
set -eu
work=${1:-${TMPDIR:-/tmp}/store-weight}
mkdir -p "$work"
printf '%-10s %8s %12s %14s\n' store crates "dev build s" "release build s"
for store in redb fjall rusqlite; do
    dir=$work/$store
    rm -rf "$dir"
    mkdir -p "$dir/src"
    case $store in
        redb) dep='redb = "=5.0.0"' ;;
        fjall) dep='fjall = "=3.1.13"' ;;
        rusqlite) dep='rusqlite = { version = "=0.43.0", features = ["bundled"] }' ;;
    esac
    printf '[package]\nname = "w-%s"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[dependencies]\n%s\n\n[workspace]\n' "$store" "$dep" > "$dir/Cargo.toml"
    echo 'fn main() {}' > "$dir/src/main.rs"
    (cd "$dir" && cargo fetch -q)
    crates=$(cd "$dir" && cargo tree -q -e normal,build --prefix none | sed 's/ (\*)//' | sort -u | grep -vc '^w-')
    t0=$(date +%s.%N)
    (cd "$dir" && CARGO_TARGET_DIR="$dir/target-dev" cargo build -q)
    t1=$(date +%s.%N)
    (cd "$dir" && CARGO_TARGET_DIR="$dir/target-rel" cargo build -q --release)
    t2=$(date +%s.%N)
    printf '%-10s %8s %12.1f %14.1f\n' "$store" "$crates" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
    rm -rf "$dir/target-dev" "$dir/target-rel"
done
