/**
 * Throw-away network namespaces for the selftest, the integration tests and the benchmark:
 * a router namespace (where the engine runs and builds the bridge), an upstream namespace
 * standing in for the internet, and guest namespaces on veth pairs standing in for VM taps.
 * Nothing here touches the namespace the caller runs in.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Exec, inNs, mustRun, sleep } from './exec.js';

/** The upstream link: router side wan0, peer side eth0 in the upstream namespace. */
export const UPSTREAM = {
  routerIf: 'wan0',
  routerIp: '203.0.113.1',
  peerIp: '203.0.113.2',
  prefix: 24,
} as const;

/** A name unique to this process and run, e.g. "nn-4242-9f3a". */
export function labId(prefix = 'nn'): string {
  return `${prefix}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

export async function createNamespace(exec: Exec, ns: string): Promise<void> {
  await mustRun(exec, ['ip', 'netns', 'add', ns]);
  await mustRun(exec, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
}

/**
 * Links router <-> upstream on 203.0.113.0/24. The upstream namespace routes the guest
 * subnet back via the router only so that "inbound is rejected" can be tested.
 */
export async function linkUpstream(exec: Exec, router: string, upstream: string, guestSubnet: string): Promise<void> {
  const { routerIf, routerIp, peerIp, prefix } = UPSTREAM;
  await mustRun(exec, ['ip', '-n', router, 'link', 'add', routerIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upstream]);
  await mustRun(exec, ['ip', '-n', router, 'addr', 'add', `${routerIp}/${prefix}`, 'dev', routerIf]);
  await mustRun(exec, ['ip', '-n', router, 'link', 'set', routerIf, 'up']);
  await mustRun(exec, ['ip', '-n', upstream, 'addr', 'add', `${peerIp}/${prefix}`, 'dev', 'eth0']);
  await mustRun(exec, ['ip', '-n', upstream, 'link', 'set', 'eth0', 'up']);
  await mustRun(exec, ['ip', '-n', upstream, 'route', 'add', guestSubnet, 'via', routerIp]);
}

/** The upstream link's IPv6 side (documentation prefix), on the same veth pair as UPSTREAM. */
export const UPSTREAM6 = {
  routerIp: '2001:db8:ffff::1',
  peerIp: '2001:db8:ffff::2',
  prefix: 64,
} as const;

/**
 * Adds IPv6 to the upstream link made by linkUpstream (addresses without duplicate address
 * detection, usable at once). The peer routes the guest prefix back via the router, as for IPv4:
 * with routed IPv6 that is the route a provider would have; with NAT66 it lets "inbound is
 * rejected" be tested.
 */
export async function linkUpstream6(exec: Exec, router: string, upstream: string, guestPrefix: string): Promise<void> {
  const { routerIp, peerIp, prefix } = UPSTREAM6;
  await mustRun(exec, ['ip', '-n', router, '-6', 'addr', 'add', `${routerIp}/${prefix}`, 'dev', UPSTREAM.routerIf, 'nodad']);
  await mustRun(exec, ['ip', '-n', upstream, '-6', 'addr', 'add', `${peerIp}/${prefix}`, 'dev', 'eth0', 'nodad']);
  await mustRun(exec, ['ip', '-n', upstream, '-6', 'route', 'add', guestPrefix, 'via', routerIp]);
}

export interface GuestSpec {
  router: string;
  /** Namespace of the guest (created here). */
  ns: string;
  /** Host-side port name in the router namespace, e.g. "vnet1". */
  port: string;
  /** Guest MAC (52:54:00:..); the host side gets the same MAC with an fe: first octet, like libvirt's taps. */
  mac: string;
  bridge: string;
  /** Configure eth0 from router advertisements (SLAAC, default route) as a guest kernel does, whatever the host's defaults. */
  ipv6?: boolean;
}

/** A guest namespace whose eth0 is a veth whose host side is a port of the bridge. */
export async function attachGuest(exec: Exec, g: GuestSpec): Promise<void> {
  await createNamespace(exec, g.ns);
  const hostMac = `fe:${g.mac.split(':').slice(1).join(':')}`;
  await mustRun(exec, ['ip', '-n', g.router, 'link', 'add', g.port, 'address', hostMac, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', g.ns]);
  await mustRun(exec, ['ip', '-n', g.ns, 'link', 'set', 'eth0', 'address', g.mac]);
  await mustRun(exec, ['ip', '-n', g.router, 'link', 'set', g.port, 'master', g.bridge, 'up']);
  if (g.ipv6) {
    for (const key of ['disable_ipv6=0', 'accept_ra=1', 'autoconf=1']) await mustRun(exec, inNs(g.ns, ['sysctl', '-q', '-w', `net.ipv6.conf.eth0.${key}`]));
  }
  await mustRun(exec, ['ip', '-n', g.ns, 'link', 'set', 'eth0', 'up']);
}

/** Pids of every process living in namespace ns (`ip netns pids`). */
export async function namespacePids(exec: Exec, ns: string): Promise<number[]> {
  const r = await exec(['ip', 'netns', 'pids', ns]);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

export function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to 2 s, then SIGKILL. */
export async function killPids(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  for (let i = 0; i < 40 && pids.some(isAlive); i++) await sleep(50);
  for (const pid of pids.filter(isAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** Kills the processes of ns whose name is comm (all of them when comm is omitted). */
export async function killInNamespace(exec: Exec, ns: string, comm?: string): Promise<void> {
  const pids = await namespacePids(exec, ns);
  await killPids(comm ? pids.filter((p) => processName(p) === comm) : pids);
}

/** Kills whatever still runs in ns (by pid) and deletes it. Never throws. */
export async function destroyNamespace(exec: Exec, ns: string): Promise<void> {
  const list = await exec(['ip', 'netns', 'list']);
  const present = list.stdout.split('\n').some((l) => l.split(' ')[0] === ns);
  if (!present) return;
  await killInNamespace(exec, ns);
  await exec(['ip', 'netns', 'del', ns]);
}

/**
 * Deletes namespaces named "<prefix>-<pid>-<hex>[-...]" (labId's form) whose creating process is
 * gone: left behind by a run that was killed before it could clean up. Live runs are untouched.
 */
export async function sweepOrphans(exec: Exec, prefix: string): Promise<string[]> {
  const list = await exec(['ip', 'netns', 'list']);
  const pattern = new RegExp(`^${prefix}-(\\d+)-[0-9a-f]{4}(-|$)`);
  const orphans = list.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((ns) => {
      const m = pattern.exec(ns);
      return m !== null && !isAlive(Number(m[1]));
    });
  for (const ns of orphans) await destroyNamespace(exec, ns);
  return orphans;
}

/** Polls `ss` in ns until something listens on port (tcp or udp); false after ~5 s. */
export async function waitListening(exec: Exec, ns: string, proto: 'tcp' | 'udp', port: number): Promise<boolean> {
  const flag = proto === 'tcp' ? '-Hltn' : '-Hlun';
  for (let i = 0; i < 100; i++) {
    const r = await exec(inNs(ns, ['ss', flag, `sport = :${port}`]));
    if (r.code === 0 && r.stdout.trim() !== '') return true;
    await sleep(50);
  }
  return false;
}
