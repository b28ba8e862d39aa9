#!/usr/bin/env bash
# The project's test command (README "Set-up"; .ci/run calls it): installs what the tests need
# and is missing, then runs every test of the workspace.
#
# Needed beyond Rust: python3 with its venv module (the Python client's tests, port helpers),
# tshark (the Wireshark dissector's test) and python3-prometheus-client (the metrics test's
# reference parsers). Installed with apt-get when run as root on Debian or a derivative; otherwise
# the missing packages are named and the script stops.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
if ! command -v python3 >/dev/null; then
    need+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    need+=(python3-venv) # Debian's python3 makes venvs (tests/python_client.rs) only with it
fi
command -v tshark >/dev/null || need+=(tshark)
# The metrics test checks scspd's expositions with the Prometheus project's own parsers, from
# Debian's package (for Debian's /usr/bin/python3).
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || need+=(python3-prometheus-client)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${need[@]}"
    else
        echo "scripts/test.sh: the tests need: ${need[*]} (install them, or run this as root on Debian)" >&2
        exit 1
    fi
fi
exec cargo test --workspace "$@"
