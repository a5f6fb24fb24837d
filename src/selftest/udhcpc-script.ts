import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * busybox udhcpc event handler for simulated guests. busybox's default script rewrites
 * /etc/resolv.conf, which network namespaces share with the host: this one never does.
 * It configures the interface with iproute2 and records each lease in $NN_DIR/$NN_GUEST.*
 * (udhcpc passes its own environment, so the caller sets NN_DIR and NN_GUEST).
 */
export const UDHCPC_SCRIPT = `#!/bin/sh
d=\${NN_DIR:?NN_DIR unset}
g=\${NN_GUEST:?NN_GUEST unset}
log() { echo "$g $interface $*" >> "$d/$g.log"; }
case "$1" in
deconfig)
  ip link set "$interface" up
  ip -4 addr flush dev "$interface"
  rm -f "$d/$g.ip"
  log deconfig
  ;;
bound|renew)
  pfx=\${mask:-24}
  for old in $(ip -4 -o addr show dev "$interface" | awk '{print $4}'); do
    [ "$old" = "$ip/$pfx" ] || ip addr del "$old" dev "$interface"
  done
  ip addr replace "$ip/$pfx" \${broadcast:+broadcast $broadcast} dev "$interface"
  [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
  echo "$dns" > "$d/$g.dns.tmp" && mv "$d/$g.dns.tmp" "$d/$g.dns"
  echo "$ip" > "$d/$g.ip.tmp" && mv "$d/$g.ip.tmp" "$d/$g.ip"
  log "$1 ip=$ip/$pfx router=$router dns=$dns domain=$domain lease=$lease"
  ;;
leasefail|nak)
  log "$1 \${message:-}"
  ;;
esac
exit 0
`;

/** Writes the script into dir (mode 0755) and returns its path. */
export function writeUdhcpcScript(dir: string): string {
  const path = join(dir, 'udhcpc.script');
  writeFileSync(path, UDHCPC_SCRIPT, { mode: 0o755 });
  chmodSync(path, 0o755);
  return path;
}
