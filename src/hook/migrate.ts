import { normaliseVmName } from '../config/lease.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import { networkOfIp } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import type { DomainRecord } from '../model/types.js';
import type { Context } from '../engine/context.js';
import { type Dhcp6Lease, type DhcpLease, leaseFileText, readDnsmasqLeases } from '../observe/dnsmasq-leases.js';
import { type LinkState, observeLinks } from '../observe/links.js';
import { servedIp6 } from '../plan/reservations.js';
import { tapIsHere } from '../plan/running-vms.js';
import { dnsmasqPaths } from '../state/layout.js';
import { oneLine } from './outcome.js';

/** What decides whether another VM's record holds its MACs on this host right now. */
export interface HostNow {
  /** Seconds since the epoch. */
  now: number;
  /** This host's links (a running VM's taps among them). */
  links: Map<string, LinkState>;
  /** The dnsmasq leases of a network on this host. */
  leasesOf: (network: string) => { leases: DhcpLease[]; leases6: Dhcp6Lease[] };
}

/**
 * A record of another VM that says it runs here, believed only while one of its taps is here
 * and its own (tapIsHere: a host reboot leaves running=true behind, and libvirt gives its vnetN
 * name to the next VM); a record with no tap yet is between prepare and start, and running.
 */
function runsHere(rec: DomainRecord, host: HostNow): boolean {
  if (!rec.running || rec.migratedAt) return false;
  return rec.nics.every((n) => !n.tap) || rec.nics.some((n) => tapIsHere(n, host.links));
}

/**
 * Why a VM arriving by live migration cannot keep its reservation on this host, or null. Its
 * leases are already checked by loadConfig exactly as for a prepare (config, leases.d and other
 * VMs' metadata; inside a configured network); on top, what would change its address or clash on
 * the wire once it resumes: a running VM here with one of its MACs, one of its MACs pinned to
 * another VM's lease, or dnsmasq here still leasing its address (IPv4, or the ip6 it is served)
 * to another MAC. A DHCPv6 lease whose DUID carries no MAC cannot be told apart from its own
 * and is not held against it. Pure.
 */
export function incomingConflict(arriving: DomainRecord, config: LoadedConfig, host: HostNow): string | null {
  const incoming = { ...arriving, vm: normaliseVmName(arriving.vm) };
  const macs = new Set(incoming.nics.map((n) => n.mac));
  for (const other of config.domains) {
    if (other.vm === incoming.vm || !runsHere(other, host)) continue;
    const nic = other.nics.find((n) => macs.has(n.mac));
    if (nic) return `MAC ${nic.mac} is in use by VM ${JSON.stringify(other.vm)} running here on ${nic.bridge}; stop it or give one of them another MAC`;
  }
  for (const lease of config.leases) {
    const mac = lease.vm === incoming.vm ? undefined : lease.macs.find((m) => macs.has(m));
    if (mac) {
      const where = lease.source.field ? `${lease.source.file} ${lease.source.field}` : lease.source.file;
      return `MAC ${mac} is reserved for VM ${JSON.stringify(lease.vm)} by ${where}; both hosts need the same config`;
    }
  }
  const active = (d: { expiry: number | null }) => d.expiry === null || d.expiry > host.now;
  for (const lease of config.leases.filter((l) => l.vm === incoming.vm)) {
    const net = networkOfIp(config.networks, lease.ip);
    if (!net) continue; // loadConfig refused it already
    const { leases, leases6 } = host.leasesOf(net.name);
    const ip6 = servedIp6(net, lease.ip6);
    const held =
      leases.find((d) => d.ip === lease.ip && !macs.has(d.mac) && active(d)) ??
      (ip6 === null ? undefined : leases6.find((d) => d.ip === ip6 && d.mac !== null && !macs.has(d.mac) && active(d)));
    if (held) {
      const until = held.expiry === null ? 'without expiry' : `until ${new Date(held.expiry * 1000).toISOString()}`;
      return `dnsmasq of ${net.name} here still leases ${held.ip} to ${held.mac} (${until}); the guest would lose its address (if no guest uses it any more, stop that network's VMs and remove the line from its lease file, or wait for the lease to end)`;
    }
  }
  return null;
}

/**
 * The running host: its links (`ip`; only when `links` says a record's taps must be looked at),
 * lease files where the layout puts them (one that cannot be read holds nothing).
 */
export async function hostNow(ctx: Pick<Context, 'runDir' | 'libDir' | 'runner'>, links = true): Promise<HostNow> {
  return {
    now: Math.floor(Date.now() / 1000),
    links: links ? await observeLinks(ctx.runner) : new Map(),
    leasesOf: (network) => readDnsmasqLeases(leaseFileText(dnsmasqPaths(ctx, network).leases)),
  };
}

/** Does incomingConflict need this host's links: a running record with one of the VM's MACs and a tap to confirm? Pure. */
export function needsLinks(incoming: DomainRecord, config: Pick<LoadedConfig, 'domains'>): boolean {
  const macs = new Set(incoming.nics.map((n) => n.mac));
  return config.domains.some((d) => d.running && !d.migratedAt && d.nics.some((n) => macs.has(n.mac)) && d.nics.some((n) => n.tap));
}

/**
 * The `migrate` hook's check on the destination: the rules a prepare applies (loadConfig with
 * this VM as the one starting), then incomingConflict. One line naming the VM and the fix, or null.
 */
export async function refuseIncoming(
  incoming: DomainRecord,
  ctx: Parameters<typeof loadConfig>[0] & Pick<Context, 'runner'>,
  host: (links: boolean) => Promise<HostNow> = (links) => hostNow(ctx, links),
): Promise<string | null> {
  const refused = (why: string) => `incoming migration of VM ${JSON.stringify(incoming.vm)} refused: ${why}`;
  let config: LoadedConfig;
  try {
    config = loadConfig(ctx, { domain: incoming });
  } catch (e) {
    if (e instanceof ConfigError) return refused(oneLine(e));
    throw e;
  }
  let here: HostNow;
  try {
    here = await host(needsLinks(incoming, config));
  } catch (e) {
    return refused(`cannot see this host's interfaces to check for a VM running with its MACs: ${oneLine(e)}`);
  }
  const why = incomingConflict(incoming, config, here);
  return why ? refused(why) : null;
}
