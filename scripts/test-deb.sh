#!/usr/bin/env bash
# CI test of the Debian package (run as root): builds it, installs it with dpkg -i, checks the
# default configuration with the installed scspd, runs the installed scspd in the foreground
# against the installed scspctl (show servers, add, show cache), checks the manual pages and
# completions, and verifies the systemd unit with systemd-analyze where that is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(scripts/package-deb.sh | tail -n1)
dpkg -i "$deb" >/dev/null
echo "test-deb: installed $deb"

/usr/sbin/scspd -n -f /etc/scspd.conf
echo "test-deb: /etc/scspd.conf passes scspd -n"
getent passwd scspd >/dev/null || { echo "test-deb: user scspd missing" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
# The default configuration, on a free UDP port so as not to meet anything on 7126.
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed "0,/Port 7126;/s//Port $port;/" /etc/scspd.conf >"$tmp/scspd.conf"
sock=$tmp/scspd.sock
/usr/sbin/scspd -d -f "$tmp/scspd.conf" -s "$sock" --state-dir "$tmp/state" >"$tmp/log" 2>&1 &
pid=$!
ctl() { /usr/bin/scspctl -s "$sock" "$@"; }
deadline=$((SECONDS + 20))
until ctl show servers >"$tmp/servers" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/log" >&2; echo "test-deb: scspd exited" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { cat "$tmp/log" >&2; echo "test-deb: scspd not ready" >&2; exit 1; }
    sleep 0.1
done
grep -q local "$tmp/servers" || { cat "$tmp/servers" >&2; echo "test-deb: server 'local' not shown" >&2; exit 1; }
ctl add local generic 0a000001 c0ffee
ctl show cache local >"$tmp/cache"
grep -qi 'c0ffee' "$tmp/cache" || { cat "$tmp/cache" >&2; echo "test-deb: entry not in cache" >&2; exit 1; }
[ -s "$tmp/state/local.db" ] || { ls -l "$tmp/state" >&2; echo "test-deb: no saved state in $tmp/state" >&2; exit 1; }
echo "test-deb: installed scspd and scspctl: show servers, add, show cache, saved state ok"

for f in /usr/share/man/man8/scspd.8.gz /usr/share/man/man8/scspctl.8.gz \
    /usr/share/man/man5/scspd.conf.5.gz /usr/share/bash-completion/completions/scspctl \
    /usr/share/zsh/vendor-completions/_scspd /usr/share/fish/vendor_completions.d/scspctl.fish \
    /usr/share/doc/scspd/copyright /usr/lib/systemd/system/scspd.service; do
    [ -s "$f" ] || { echo "test-deb: $f missing" >&2; exit 1; }
done
if command -v man >/dev/null; then
    man -w scspd >/dev/null && man -w 5 scspd.conf >/dev/null && man -w scspctl >/dev/null
fi
echo "test-deb: manual pages and completions installed"

if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /usr/lib/systemd/system/scspd.service
    echo "test-deb: systemd-analyze verify scspd.service ok"
else
    echo "test-deb: SKIPPED systemd-analyze verify: systemd-analyze is not installed"
fi
echo "test-deb: ok"
