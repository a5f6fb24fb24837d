#!/bin/bash
# PID 1 of the libvirtd sandbox's PID namespace (see libvirtd.ts): bind-mounts the sandbox's
# private libvirt state over the host paths inside its private mount namespace, then reaps
# children (daemonised libvirtd/QEMU/dnsmasq end up here) until told to stop.
# usage: libvirtd-holder.sh STATE_DIR
set -e
state=$1
for d in etc/libvirt run var/lib/libvirt var/log/libvirt var/cache/libvirt; do
  mount --bind "$state/$d" "/$d"
done
ip link set lo up
echo ready > "$state/holder.ready"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $! || true; done
