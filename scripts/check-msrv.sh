#!/usr/bin/env bash
# Fails when the installed rustc is older than the workspace's rust-version (Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sed -n 's/^rust-version = "\([0-9.]*\)"/\1/p' Cargo.toml)
have=$(rustc --version | awk '{print $2}' | sed 's/-.*//')
[ -n "$want" ] || { echo "check-msrv: no rust-version in Cargo.toml" >&2; exit 1; }
lowest=$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)
if [ "$lowest" != "$want" ]; then
    echo "check-msrv: rustc $have is older than the workspace's rust-version $want" >&2
    exit 1
fi
echo "check-msrv: rustc $have >= rust-version $want"
