import { existsSync, readFileSync } from 'node:fs';
import { normaliseVmName } from '../config/lease.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import { networkOfIp } from '../config/validate.js';
import { ConfigError } from '../errors.js';
import type { DomainRecord } from '../model/types.js';
import { type DhcpLease, readDnsmasqLeases } from '../observe/dnsmasq-leases.js';
import { dnsmasqPaths } from '../state/layout.js';
import { oneLine } from './outcome.js';

/** What decides whether another VM's record holds its MACs on this host right now. */
export interface HostNow {
  /** Seconds since the epoch. */
  now: number;
  /** Does this interface exist here (a running VM's tap)? */
  tapExists: (tap: string) => boolean;
  /** The dnsmasq leases of a network on this host. */
  leasesOf: (network: string) => DhcpLease[];
}

/**
 * A record of another VM that says it runs here, believed only while one of its taps exists
 * (a host reboot leaves running=true behind); a record with no tap yet is between prepare and
 * start, and running.
 */
function runsHere(rec: DomainRecord, host: HostNow): boolean {
  if (!rec.running || rec.migratedAt) return false;
  const taps = rec.nics.flatMap((n) => (n.tap ? [n.tap] : []));
  return taps.length === 0 || taps.some(host.tapExists);
}

/**
 * Why a VM arriving by live migration cannot keep its reservation on this host, or null. Its
 * leases are already checked by loadConfig exactly as for a prepare (config, leases.d and other
 * VMs' metadata; inside a configured network); on top, what would change its address or clash on
 * the wire once it resumes: a running VM here with one of its MACs, one of its MACs pinned to
 * another VM's lease, or dnsmasq here still leasing its address to another MAC. Pure.
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
  for (const lease of config.leases.filter((l) => l.vm === incoming.vm)) {
    const net = networkOfIp(config.networks, lease.ip);
    if (!net) continue; // loadConfig refused it already
    const held = host.leasesOf(net.name).find((d) => d.ip === lease.ip && !macs.has(d.mac) && (d.expiry === null || d.expiry > host.now));
    if (held) {
      const until = held.expiry === null ? 'without expiry' : `until ${new Date(held.expiry * 1000).toISOString()}`;
      return `dnsmasq of ${net.name} here still leases ${lease.ip} to ${held.mac} (${until}); the guest would lose its address (if no guest uses it any more, stop that network's VMs and remove the line from its lease file, or wait for the lease to end)`;
    }
  }
  return null;
}

/** The running host: taps in /sys/class/net, lease files where the layout puts them. */
export function hostNow(layout: { runDir: string; libDir: string }): HostNow {
  return {
    now: Math.floor(Date.now() / 1000),
    // names come from validated records (schema: interface names only)
    tapExists: (tap) => existsSync(`/sys/class/net/${tap}`),
    leasesOf: (network) => {
      try {
        return readDnsmasqLeases(readFileSync(dnsmasqPaths(layout, network).leases, 'utf8')).leases;
      } catch {
        return [];
      }
    },
  };
}

/**
 * The `migrate` hook's check on the destination: the rules a prepare applies (loadConfig with
 * this VM as the one starting), then incomingConflict. One line naming the VM and the fix, or null.
 */
export function refuseIncoming(
  incoming: DomainRecord,
  ctx: Parameters<typeof loadConfig>[0],
  host: HostNow = hostNow(ctx),
): string | null {
  const refused = (why: string) => `incoming migration of VM ${JSON.stringify(incoming.vm)} refused: ${why}`;
  let config: LoadedConfig;
  try {
    config = loadConfig(ctx, { domain: incoming });
  } catch (e) {
    if (e instanceof ConfigError) return refused(oneLine(e));
    throw e;
  }
  const why = incomingConflict(incoming, config, host);
  return why ? refused(why) : null;
}
