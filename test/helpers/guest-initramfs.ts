import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * A tiny guest for DHCP tests under QEMU/TCG: the host's Debian kernel (/boot/vmlinuz-*, from the
 * apt package linux-image-cloud-amd64) plus an initramfs built here: busybox (+ its libc), the
 * virtio-net modules from /lib/modules/<ver>, and an /init that brings eth0 up and runs udhcpc,
 * printing every lease event on the serial console ("NATNET-DHCP bound ip=..").
 */
export interface GuestKernel {
  kernel: string;
  version: string;
}

export function findGuestKernel(): GuestKernel | null {
  let names: string[];
  try {
    names = readdirSync('/boot').filter((n) => n.startsWith('vmlinuz-')).sort();
  } catch {
    return null;
  }
  for (const n of names.reverse()) {
    const version = n.slice('vmlinuz-'.length);
    try {
      readdirSync(join('/lib/modules', version));
      return { kernel: join('/boot', n), version };
    } catch {
      // modules not installed for this one
    }
  }
  return null;
}

/** Modules for a virtio NIC, dependencies first (resolved from the kernel's modules.dep). */
export function moduleLoadOrder(modulesDep: string, targets = ['kernel/drivers/virtio/virtio_pci.ko', 'kernel/drivers/net/virtio_net.ko']): string[] {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod && rest !== undefined) deps.set(mod.trim(), rest.trim().split(/\s+/).filter(Boolean));
  }
  const order: string[] = [];
  const visit = (m: string) => {
    // not in modules.dep: built into this kernel (=y), nothing to load
    if (order.includes(m) || !deps.has(m)) return;
    // modules.dep lists what a module needs with the deepest dependency last
    for (const d of [...(deps.get(m) ?? [])].reverse()) visit(d);
    order.push(m);
  };
  for (const t of targets) visit(t);
  return order;
}

const init = (modules: string[], renewEverySeconds?: number) => `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in ${modules.map((m) => `/lib/modules/${basename(m)}`).join(' ')}; do insmod $m; done
ip link set lo up
for i in $(seq 1 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set eth0 up
echo "NATNET-GUEST up mac=$(cat /sys/class/net/eth0/address)"
${
  // -b daemonises after the first lease (its later lines go to /dev/null): renewals need it in the foreground
  renewEverySeconds
    ? `udhcpc -i eth0 -s /udhcpc.script -t 30 -T 1 -A 1 -f -x hostname:guest &\nwhile :; do sleep ${renewEverySeconds}; killall -USR1 udhcpc; done`
    : 'udhcpc -i eth0 -s /udhcpc.script -t 30 -T 1 -A 1 -b -x hostname:guest\nwhile :; do sleep 3600; done'
}
`;

const UDHCPC = `#!/bin/sh
case "$1" in
deconfig) ip link set "$interface" up; ip -4 addr flush dev "$interface" ;;
bound|renew)
  ip addr replace "$ip/\${mask:-24}" dev "$interface"
  [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
  echo "NATNET-DHCP $1 ip=$ip router=$router dns=$dns domain=$domain" ;;
*) echo "NATNET-DHCP $1" ;;
esac
exit 0
`;

interface Entry {
  name: string;
  mode: number;
  data: Buffer;
}

/** cpio "newc" archive (what the kernel unpacks as initramfs). */
function cpio(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  let ino = 1;
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0, data: Buffer.alloc(0) }]) {
    const name = Buffer.from(`${e.name}\0`);
    const fields = [ino++, e.mode, 0, 0, 1, 0, e.data.length, 0, 0, 0, 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map(hex).join('')}`);
    parts.push(header, name, pad(header.length + name.length), e.data, pad(e.data.length));
  }
  return Buffer.concat(parts);
}

const dir = (name: string): Entry => ({ name, mode: 0o40755, data: Buffer.alloc(0) });
const file = (name: string, data: Buffer | string, mode = 0o100755): Entry => ({ name, mode, data: Buffer.from(data) });

/** gzip'd initramfs for `k`. `renewEverySeconds`: SIGUSR1 to udhcpc that often (a renewal: RENEWING, unicast to its server). */
export function buildGuestInitramfs(k: GuestKernel, o: { renewEverySeconds?: number } = {}): Buffer {
  const base = join('/lib/modules', k.version);
  const modules = moduleLoadOrder(readFileSync(join(base, 'modules.dep'), 'utf8'));
  const libs = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libresolv.so.2', '/lib64/ld-linux-x86-64.so.2'];
  const entries: Entry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules', 'lib/x86_64-linux-gnu', 'lib64', 'tmp', 'var', 'var/run'].map(dir),
    file('bin/busybox', readFileSync(realpathSync('/bin/busybox'))),
    { name: 'bin/sh', mode: 0o120777, data: Buffer.from('busybox') },
    ...libs.map((l) => file(l.slice(1), readFileSync(realpathSync(l)))),
    ...modules.map((m) => file(`lib/modules/${basename(m)}`, readFileSync(join(base, m)), 0o100644)),
    file('init', init(modules, o.renewEverySeconds)),
    file('udhcpc.script', UDHCPC),
  ];
  return gzipSync(cpio(entries));
}
