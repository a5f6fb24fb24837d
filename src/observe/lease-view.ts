import type { Context } from '../engine/context.js';
import { selectNetworks } from '../engine/index.js';
import { loadConfig } from '../config/load.js';
import { readText } from '../config/read-text.js';
import { unexpected } from '../report.js';
import type { DomainRecord, Reservation } from '../model/types.js';
import { parseIPv4 } from '../net/ipv4.js';
import { reservationsFor } from '../plan/reservations.js';
import { dnsmasqPaths } from '../state/layout.js';
import { type DhcpLease, readDnsmasqLeases } from './dnsmasq-leases.js';

/** One active lease joined with what we know of the VM behind it. */
export interface LeaseViewRow {
  network: string;
  /** The VM the MAC belongs to (a reservation or a hook record), or null when unknown. */
  vm: string | null;
  mac: string;
  ip: string;
  hostname: string | null;
  /** Seconds since the epoch; null = infinite. */
  expiry: number | null;
  /** `reserved`: dnsmasq serves this MAC this IP from our hostsfile; `pool`: from the dhcp range. */
  kind: 'reserved' | 'pool';
}

/**
 * Pure: one network's active (not yet expired) leases with their VM. The reservations are the
 * ones dnsmasq serves (MACs from the config, leases.d, or learned by the hooks).
 */
export function joinLeases(network: string, leases: DhcpLease[], reservations: Reservation[], domains: DomainRecord[], bridge: string, now: number): LeaseViewRow[] {
  const recordOwner = (mac: string) =>
    domains.find((d) => d.nics.some((n) => n.mac === mac && n.bridge === bridge))?.vm ?? domains.find((d) => d.nics.some((n) => n.mac === mac))?.vm ?? null;
  return leases
    .filter((l) => l.expiry === null || l.expiry > now)
    .map((l) => {
      const served = reservations.find((r) => r.ip === l.ip && r.macs.includes(l.mac));
      const vm = served?.vm ?? reservations.find((r) => r.macs.includes(l.mac))?.vm ?? recordOwner(l.mac);
      return { network, vm, mac: l.mac, ip: l.ip, hostname: l.hostname, expiry: l.expiry, kind: served ? 'reserved' : 'pool' } satisfies LeaseViewRow;
    })
    .sort((a, b) => parseIPv4(a.ip)! - parseIPv4(b.ip)!);
}

/**
 * The active leases of the named networks (default: all configured). A lease file that is
 * missing means no leases yet; one that cannot be read, or a line that is not a lease, is a
 * warning naming the file (and the line), never a failure of the whole view.
 */
export function readLeaseView(ctx: Context, names: string[] | undefined, now = Math.floor(Date.now() / 1000)): LeaseViewRow[] {
  const config = loadConfig(ctx);
  for (const w of config.warnings) ctx.log.warn(w);
  const rows: LeaseViewRow[] = [];
  for (const net of selectNetworks(config.networks, names)) {
    const file = dnsmasqPaths(ctx, net.name).leases;
    const leases = leasesIn(ctx, file);
    const { reservations } = reservationsFor(net, config.leases, config.domains);
    rows.push(...joinLeases(net.name, leases, reservations, config.domains, net.bridge, now));
  }
  return rows;
}

/** A damaged file names its first few bad lines, not every one of thousands. */
const MAX_BAD_LINES_SHOWN = 5;

function leasesIn(ctx: Context, file: string): DhcpLease[] {
  let text: string | null;
  try {
    text = readText(file);
  } catch (e) {
    ctx.log.warn(`${file}: ${unexpected(e)} (its leases are not shown)`);
    return [];
  }
  const { leases, bad } = readDnsmasqLeases(text ?? '');
  for (const b of bad.slice(0, MAX_BAD_LINES_SHOWN)) ctx.log.warn(`${file} line ${b.line}: ${b.why} (skipped)`);
  if (bad.length > MAX_BAD_LINES_SHOWN) ctx.log.warn(`${file}: ${bad.length - MAX_BAD_LINES_SHOWN} more lines that are not leases (skipped)`);
  return leases;
}
