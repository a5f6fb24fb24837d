import { lstatSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { executeStep } from '../apply/execute.js';
import type { LoadedConfig } from '../config/load.js';
import type { Network } from '../model/types.js';
import { leaseFileText, readDnsmasqLeases } from '../observe/dnsmasq-leases.js';
import { scanOurDnsmasq } from '../observe/procfs.js';
import { reservationsFor } from '../plan/reservations.js';
import { unexpected } from '../report.js';
import { dnsmasqPaths } from '../state/layout.js';
import type { Context } from './context.js';

/** What of a VM that left this host a network's lease file forgets: its MACs, and the IPv6 addresses reserved for it there. */
export interface Departed {
  macs: ReadonlySet<string>;
  /** RFC 5952 form, as dnsmasq serves them (servedIp6). */
  ip6: ReadonlySet<string>;
}

/**
 * The departed VM as seen by one network: its MACs, and the ip6 of every reservation of that
 * network held by one of them (a DHCPv6 client whose DUID carries no MAC is known by its address).
 * Pure.
 */
export function departedFrom(net: Network, config: Pick<LoadedConfig, 'leases' | 'domains'>, macs: readonly string[]): Departed {
  const set = new Set(macs);
  const { reservations } = reservationsFor(net, config.leases, config.domains);
  const ip6 = reservations.flatMap((r) => (r.ip6 !== null && r.macs.some((m) => set.has(m)) ? [r.ip6] : []));
  return { macs: set, ip6: new Set(ip6) };
}

/**
 * A dnsmasq lease file without the departed VM's leases: DHCPv4 leases of its MACs, DHCPv6
 * leases whose DUID carries one of its MACs or that hold one of its addresses. Every other line
 * (other leases, the duid line, lines that are not leases) is kept exactly as dnsmasq wrote it.
 * The lines are the ones readDnsmasqLeases read. Pure.
 */
export function leaseFileWithout(text: string, gone: Departed): { text: string; dropped: { mac: string | null; ip: string }[] } {
  const { leases, leases6 } = readDnsmasqLeases(text);
  const drop = new Map<number, { mac: string | null; ip: string }>();
  for (const l of leases) if (gone.macs.has(l.mac)) drop.set(l.line, { mac: l.mac, ip: l.ip });
  for (const l of leases6) if ((l.mac !== null && gone.macs.has(l.mac)) || gone.ip6.has(l.ip)) drop.set(l.line, { mac: l.mac, ip: l.ip });
  if (drop.size === 0) return { text, dropped: [] };
  return { text: text.split('\n').filter((_, i) => !drop.has(i + 1)).join('\n'), dropped: [...drop.values()] };
}

/**
 * Drops a departed VM's leases (one that migrated to another host) from a network's lease
 * database, so that dnsmasq here does not keep its address from a later VM ("not using
 * configured address ... because it is leased to ..."). dnsmasq owns that file, reads it only
 * when it starts and rewrites it from memory on every change: when there is something to drop it
 * is stopped first (by pid, only our own), THEN the file is read, filtered and written
 * atomically, so no lease it wrote meanwhile is lost. `stopped`: the caller MUST start it again
 * (engine/index.ts: the network's apply, and startDnsmasqIfStopped whatever happens).
 * `mayStop` false (a network that is not being applied): a running dnsmasq is left alone, and
 * its file with it. A DHCPRELEASE would spare the restart but needs a socket bound to the bridge
 * (SO_BINDTODEVICE: dnsmasq-utils' dhcp_release), which Node cannot open. Under the engine lock.
 */
export async function forgetLeases(ctx: Context, net: Pick<Network, 'name'>, gone: Departed, mayStop = true): Promise<{ actions: string[]; stopped: boolean }> {
  const paths = dnsmasqPaths(ctx, net.name);
  const unreadable = (e: unknown) => ctx.log.warn(`${paths.leases}: ${unexpected(e)} (leases of the VM that left are not forgotten)`);
  const describe = (out: ReturnType<typeof leaseFileWithout>) =>
    out.dropped.map((d) => `forget dnsmasq lease ${d.ip}${d.mac ? ` of ${d.mac}` : ''} (its VM left this host)`);
  // a first look, so that a network with nothing to forget keeps its dnsmasq running
  const first = leaseFileWithout(leaseFileText(paths.leases, unreadable), gone);
  if (first.dropped.length === 0) return { actions: [], stopped: false };
  if (ctx.dryRun) return { actions: describe(first), stopped: false };
  const pids = scanOurDnsmasq(paths.conf);
  if (pids.length && !mayStop) return { actions: [], stopped: false };
  for (const pid of pids) {
    await executeStep(ctx, { kind: 'dnsmasq-stop', why: `stop dnsmasq of ${net.name} to edit its lease file`, pid, conf: paths.conf });
  }
  const stopped = pids.length > 0;
  const out = leaseFileWithout(leaseFileText(paths.leases, unreadable), gone);
  if (out.dropped.length === 0) return { actions: [], stopped };
  // readLeaseFile refused a symlink; the mode is dnsmasq's (its umask), kept
  const st = lstatSync(paths.leases, { throwIfNoEntry: false });
  writeFileAtomic(paths.leases, out.text, st?.isFile() ? st.mode & 0o777 : 0o644);
  return { actions: describe(out), stopped };
}

/**
 * After forgetLeases stopped a network's dnsmasq: start it again if nothing did (the network's
 * apply failed before its dnsmasq step). Never throws: it runs in a `finally`, and the apply's
 * own failure is the one to report.
 */
export async function startDnsmasqIfStopped(ctx: Context, net: Pick<Network, 'name'>): Promise<void> {
  const paths = dnsmasqPaths(ctx, net.name);
  if (scanOurDnsmasq(paths.conf).length > 0) return;
  try {
    await executeStep(ctx, { kind: 'dnsmasq-start', why: `start dnsmasq of ${net.name} again after editing its lease file`, conf: paths.conf, pidFile: paths.pid });
  } catch (e) {
    ctx.log.warn(`dnsmasq of ${net.name} stopped to forget leases and could not be started again: ${unexpected(e)}; \`natnet-hook up ${net.name}\` starts it`);
  }
}
