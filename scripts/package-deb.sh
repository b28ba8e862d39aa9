#!/usr/bin/env bash
# Builds target/debian/scspd_<version>_<arch>.deb with dpkg-deb: scspd and scspctl (release
# profile, stripped), manual pages scspd(8) and scspctl(8) (clap_mangen, examples/gen-docs.rs)
# and scspd.conf(5) (packaging/debian/scspd.conf.5), bash/zsh/fish completions (clap_complete),
# the systemd unit, a tmpfiles.d entry, the default /etc/scspd.conf (a conffile), LICENSE and
# the copyright file. Prints the path of the package.
set -euo pipefail
cd "$(dirname "$0")/.."
src=packaging/debian
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
out=target/debian
root=$out/root
rm -rf "$root" && mkdir -p "$root/DEBIAN"

cargo build --release --locked -q -p scspd --bin scspd --bin scspctl
cargo run --release --locked -q -p scspd --example gen-docs -- "$out/gen"

install -D -m 755 target/release/scspd "$root/usr/sbin/scspd"
install -D -m 755 target/release/scspctl "$root/usr/bin/scspctl"
strip --strip-unneeded "$root/usr/sbin/scspd" "$root/usr/bin/scspctl"

man=$root/usr/share/man
install -d "$man/man5" "$man/man8"
gzip -9n -c "$out/gen/man/scspd.8" >"$man/man8/scspd.8.gz"
gzip -9n -c "$out/gen/man/scspctl.8" >"$man/man8/scspctl.8.gz"
gzip -9n -c "$src/scspd.conf.5" >"$man/man5/scspd.conf.5.gz"

comp=$out/gen/completions
for cmd in scspd scspctl; do
    install -D -m 644 "$comp/bash/$cmd.bash" "$root/usr/share/bash-completion/completions/$cmd"
    install -D -m 644 "$comp/zsh/_$cmd" "$root/usr/share/zsh/vendor-completions/_$cmd"
    install -D -m 644 "$comp/fish/$cmd.fish" "$root/usr/share/fish/vendor_completions.d/$cmd.fish"
done

install -D -m 644 "$src/scspd.service" "$root/usr/lib/systemd/system/scspd.service"
install -D -m 644 "$src/scspd.tmpfiles" "$root/usr/lib/tmpfiles.d/scspd.conf"
install -D -m 644 "$src/scspd.conf" "$root/etc/scspd.conf"
install -D -m 644 "$src/copyright" "$root/usr/share/doc/scspd/copyright"
install -D -m 644 LICENSE "$root/usr/share/doc/scspd/LICENSE"
install -D -m 644 docs/scspd.conf.md "$root/usr/share/doc/scspd/scspd.conf.md"
install -D -m 644 docs/client-protocol.md "$root/usr/share/doc/scspd/client-protocol.md"

install -m 755 "$src/postinst" "$src/prerm" "$src/postrm" "$root/DEBIAN/"
echo /etc/scspd.conf >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: scspd
Version: $version
Architecture: $arch
Maintainer: scsp authors <scsp@example.invalid>
Installed-Size: $size
Depends: libc6, adduser
Section: net
Priority: optional
Homepage: https://example.invalid/scsp
Description: Server Cache Synchronization Protocol (RFC 2334) daemon
 scspd synchronises the caches of local servers (ATMARP, NHRP, MARS or generic
 records) with those of their directly connected servers, over UDP/IP; scspctl
 inspects and controls it. The configuration language is the one of FreeBSD's
 scspd(8).
CONTROL

deb=$out/scspd_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
