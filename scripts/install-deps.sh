#!/bin/bash
# Installs the system packages natnet-hook and its tests use (Debian/Ubuntu, as root).
# Package services are kept from starting while installing: NetworkManager, firewalld and
# libvirtd must never come up on this machine's own network or system bus (tests start
# their own copies inside namespaces).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root (apt-get)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # the product's data path
  iproute2 iptables nftables dnsmasq-base procps
  # integration tests: guests doing DHCP, peers reporting source addresses, namespaces
  busybox udhcpc socat netcat-openbsd util-linux strace
  # IPv6 tests: a guest doing DHCPv6 (dhclient -6)
  isc-dhcp-client
  # end-to-end: a real libvirtd starting a TCG VM
  libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
  # the e2e guest boots this kernel (virtio drivers as modules) with a busybox initramfs and does real DHCP
  linux-image-cloud-amd64
  # end-to-end: real NetworkManager and firewalld on a private bus
  network-manager firewalld dbus dbus-bin
  # packaging: the .deb is checked by lintian, the listener unit by systemd-analyze (security, verify)
  lintian systemd
  # docs: the man page is checked with groff/man, the zsh completion script with zsh -n
  groff-base man-db zsh
)

created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "system packages ready: ${PACKAGES[*]}"
