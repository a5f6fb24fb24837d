#!/bin/bash
# Builds natnet-hook_<version>_all.deb from this checkout: `npm run deb` or
#   scripts/build-deb.sh [--no-build] [OUTDIR]      (default OUTDIR: the checkout)
# The package tree is laid out by the program itself (`natnet-hook install --root TREE --package`:
# the runtime in /usr/lib/natnet-hook/<version> + current, /usr/sbin/natnet-hook, the listener unit
# in /usr/lib/systemd/system), plus the man page and completions when the build made them, the
# Debian copyright and changelog, and the maintainer scripts in install/debian/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [ "${1:-}" = "--no-build" ]; then build=""; shift; fi
outdir=$(realpath "${1:-.}")
[ -n "$build" ] && npm run --silent build
version=$(node -p "require('./package.json').version")
deb="$outdir/natnet-hook_${version}_all.deb"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree="$work/natnet-hook_${version}_all"
# reproducible: timestamps from the last commit (or now outside git)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
# node by the path the Depends: nodejs package provides, whatever node builds this
node bin/natnet-hook install --root "$tree" --package --node /usr/bin/node >/dev/null

share=dist/share
doc="$tree/usr/share/doc/natnet-hook"
install -d -m 0755 "$doc"
install -m 0644 install/debian/copyright "$doc/copyright"
{
  printf 'natnet-hook (%s) unstable; urgency=medium\n\n' "$version"
  printf '  * Release %s, built from the npm source by scripts/build-deb.sh.\n\n' "$version"
  printf ' -- natnet-hook developers <dev@natnet-hook.dev>  %s\n' "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"
if [ -f "$share/man/man8/natnet-hook.8" ]; then
  install -d -m 0755 "$tree/usr/share/man/man8"
  gzip -9n <"$share/man/man8/natnet-hook.8" >"$tree/usr/share/man/man8/natnet-hook.8.gz"
  chmod 0644 "$tree/usr/share/man/man8/natnet-hook.8.gz"
fi
if [ -f "$share/bash-completion/completions/natnet-hook" ]; then
  install -D -m 0644 "$share/bash-completion/completions/natnet-hook" "$tree/usr/share/bash-completion/completions/natnet-hook"
fi
if [ -f "$share/zsh/vendor-completions/_natnet-hook" ]; then
  install -D -m 0644 "$share/zsh/vendor-completions/_natnet-hook" "$tree/usr/share/zsh/vendor-completions/_natnet-hook"
fi
# the runtime's own copy of dist/share is not needed: the package puts them where man and the shells look
rm -rf "$tree/usr/lib/natnet-hook/$version/dist/share"

install -d -m 0755 "$tree/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "install/debian/$s" "$tree/DEBIAN/$s"; done
cat >"$tree/DEBIAN/control" <<CONTROL
Package: natnet-hook
Version: $version
Architecture: all
Maintainer: natnet-hook developers <dev@natnet-hook.dev>
Installed-Size: $(du -sk --exclude=DEBIAN "$tree" | cut -f1)
Depends: nodejs (>= 20), dnsmasq-base, iproute2, iptables | nftables
Recommends: libvirt-daemon-system
Section: net
Priority: optional
Description: host-owned NAT network for libvirt/KVM VMs
 natnet-hook gives libvirt VMs a NAT network the host owner controls: a
 bridge, a dummy anchor, iptables or nftables NAT rules and a dnsmasq with
 per-VM DHCP reservations. libvirt hooks bring it up before a VM on the
 bridge starts; a D-Bus listener puts it back when NetworkManager or
 firewalld disturb it; the natnet-hook command shows and manages it.
CONTROL
find "$tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$outdir"
dpkg-deb --root-owner-group -Zxz --build "$tree" "$deb" >/dev/null
echo "$deb"
