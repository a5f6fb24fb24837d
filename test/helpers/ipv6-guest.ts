/**
 * IPv6 on Lab guests: the kernel's SLAAC (accept_ra=1, autoconf=1 in the guest's namespace),
 * DHCPv6 with isc-dhcp-client's `dhclient -6` run with a test-owned script, its own lease and
 * pid files in the lab's temp dir, killed by pid; AAAA lookups with busybox nslookup.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIPv6, parseIPv6 } from '../../src/net/ipv6.js';
import { inNs, sleep } from '../../src/selftest/exec.js';
import { killInNamespace, waitListening } from '../../src/selftest/topology.js';
import { exec } from './exec.js';
import type { Guest, Lab } from './netns.js';

/** Lets the guest's eth0 configure itself from router advertisements (a guest kernel's default). */
export async function enableSlaac(lab: Lab, g: Guest): Promise<void> {
  for (const key of ['accept_ra=1', 'autoconf=1', 'disable_ipv6=0']) await lab.mustRun(['sysctl', '-q', '-w', `net.ipv6.conf.eth0.${key}`], g.ns);
}

export interface Addr6 {
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
  dynamic?: boolean;
}

export async function addresses6(lab: Lab, g: Guest): Promise<Addr6[]> {
  const out = await lab.mustRun(['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0'], g.ns);
  return ((JSON.parse(out || '[]') as { addr_info?: Addr6[] }[])[0]?.addr_info ?? []).filter((a) => 'local' in a);
}

/** Polls until the guest has a usable global address satisfying want; returns it or null. */
export async function waitForAddress6(lab: Lab, g: Guest, want: (a: Addr6) => boolean, seconds = 20): Promise<Addr6 | null> {
  for (let i = 0; i < seconds * 5; i++) {
    const a = (await addresses6(lab, g)).find((x) => x.scope === 'global' && !x.tentative && want(x));
    if (a) return a;
    await sleep(200);
  }
  return null;
}

/** The guest's IPv6 default route: its gateway and device, or null. */
export async function defaultRoute6(lab: Lab, g: Guest): Promise<{ gateway: string; dev: string } | null> {
  const out = await lab.mustRun(['ip', '-j', '-6', 'route', 'show', 'default'], g.ns);
  const r = (JSON.parse(out || '[]') as { gateway?: string; dev?: string; nexthops?: { gateway: string; dev: string }[] }[])[0];
  if (!r) return null;
  const hop = r.gateway ? { gateway: r.gateway, dev: r.dev ?? '' } : r.nexthops?.[0];
  return hop ?? null;
}

/** The router bridge's link-local address (the RA's source: the guests' default gateway). */
export async function linkLocalOf(lab: Lab, dev: string): Promise<string | null> {
  const out = await lab.mustRun(['ip', '-j', '-6', 'addr', 'show', 'dev', dev]);
  const all = (JSON.parse(out || '[]') as { addr_info?: { local?: string; scope?: string }[] }[]).flatMap((l) => l.addr_info ?? []);
  return all.find((a) => a.scope === 'link' && a.local?.startsWith('fe80:'))?.local ?? null;
}

/** dhclient-script stand-in: configures the address it is given and records it in $NN_DIR/<guest>.ip6. */
const DHCLIENT6_SCRIPT = `#!/bin/sh
d=\${NN_DIR:?NN_DIR unset}
g=\${NN_GUEST:?NN_GUEST unset}
echo "$g $reason $new_ip6_address/$new_ip6_prefixlen" >> "$d/$g.log6"
case "$reason" in
BOUND6|RENEW6|REBIND6|REBOOT6)
  [ -n "$new_ip6_address" ] || exit 0
  ip -6 addr replace "$new_ip6_address/128" dev "$interface" nodad
  echo "$new_ip6_address" > "$d/$g.ip6.tmp" && mv "$d/$g.ip6.tmp" "$d/$g.ip6"
  ;;
esac
exit 0
`;

/**
 * One DHCPv6 exchange by `dhclient -6 -1` in the guest's namespace (it stays in the background
 * after a lease; stop it with stopDhclient6). Resolves with the address obtained or null.
 */
export async function dhclient6(lab: Lab, g: Guest): Promise<{ ip: string | null; pid: number | null; log: string }> {
  const script = join(lab.dir, 'dhclient6-script');
  writeFileSync(script, DHCLIENT6_SCRIPT);
  chmodSync(script, 0o755);
  const files = { lease: join(g.dir, `${g.name}.leases6`), pid: join(g.dir, `${g.name}.pid6`), ip: join(g.dir, `${g.name}.ip6`) };
  // the link-local address must be past DAD before dhclient can bind to it
  await waitForLinkLocal(lab, g);
  // dhclient runs its script with a clean environment: -e passes what it needs
  const argv = ['timeout', '30', 'dhclient', '-6', '-1', '-v', '-sf', script, '-lf', files.lease, '-pf', files.pid, '-e', `NN_DIR=${g.dir}`, '-e', `NN_GUEST=${g.name}`, 'eth0'];
  const r = await exec(inNs(g.ns, argv));
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8').trim();
    } catch {
      return null;
    }
  };
  const pidText = read(files.pid);
  return { ip: read(files.ip), pid: pidText && /^\d+$/.test(pidText) ? Number(pidText) : null, log: `${r.stdout}${r.stderr}${read(join(g.dir, `${g.name}.log6`)) ?? ''}` };
}

export function stopDhclient6(pid: number | null): void {
  if (pid === null) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // gone
  }
}

async function waitForLinkLocal(lab: Lab, g: Guest): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await addresses6(lab, g)).some((a) => a.scope === 'link' && !a.tentative)) return;
    await sleep(100);
  }
}

/** AAAA answers for name from server (busybox nslookup -type=aaaa in the guest). */
export async function resolveAaaa(lab: Lab, g: Guest, name: string, server: string): Promise<string[]> {
  const r = await lab.run(['busybox', 'nslookup', '-type=aaaa', name, server], g.ns);
  const after = r.stdout.split(/^Name:/m).slice(1).join('\n');
  return [...after.matchAll(/^Address(?: \d+)?:\s*([0-9a-f:]+)\s*$/gm)].map((m) => m[1]);
}

/** socat's "AF=10 [0000:...:0001]:port" → RFC 5952 text. */
const PEER_LINE = /accepting connection from AF=10 \[([0-9a-f:]+)\]:\d+/;

/**
 * One TCP connection over IPv6 from clientNs (from address `from`: a guest also has its SLAAC
 * address) to [ip]:port; the listener in serverNs reports the source it saw.
 */
export async function roundTrip6(serverNs: string, clientNs: string, ip: string, port: number, from: string) {
  const server = exec(inNs(serverNs, ['timeout', '15', 'socat', '-d', '-d', `TCP6-LISTEN:${port},reuseaddr`, '-']));
  if (!(await waitListening(exec, serverNs, 'tcp', port))) throw new Error(`no listener on tcp/${port} in ${serverNs}`);
  const client = await exec(inNs(clientNs, ['socat', '-T', '2', '-', `TCP6:[${ip}]:${port},connect-timeout=3,bind=[${from}]`]), { input: 'natnet-ipv6\n' });
  const settled = await Promise.race([server.then(() => true), sleep(1500).then(() => false)]);
  if (!settled) await killInNamespace(exec, serverNs, 'socat');
  const seen = PEER_LINE.exec((await server).stderr);
  const n = seen ? parseIPv6(seen[1]) : null;
  return { connected: client.code === 0, peerSaw: n === null ? null : formatIPv6(n), clientError: client.stderr.trim().split('\n').pop() ?? '' };
}
