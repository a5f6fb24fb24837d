import type { Context } from '../engine/context.js';
import { selectNetworks } from '../engine/index.js';
import { loadConfig } from '../config/load.js';
import { unexpected } from '../report.js';
import type { DomainRecord, Reservation } from '../model/types.js';
import { parseIPv4 } from '../net/ipv4.js';
import { parseIPv6 } from '../net/ipv6.js';
import { reservationsFor } from '../plan/reservations.js';
import { dnsmasqPaths } from '../state/layout.js';
import { type Dhcp6Lease, type DhcpLease, readDnsmasqLeases, readLeaseFile } from './dnsmasq-leases.js';

/** One active lease joined with what we know of the VM behind it. */
export interface LeaseViewRow {
  network: string;
  /** The VM the MAC (or the reserved IPv6 address) belongs to (a reservation or a hook record), or null when unknown. */
  vm: string | null;
  /** null: a DHCPv6 lease whose DUID carries no MAC. */
  mac: string | null;
  /** An IPv4 address, or an IPv6 one (RFC 5952) for a DHCPv6 lease. */
  ip: string;
  hostname: string | null;
  /** Seconds since the epoch; null = infinite. */
  expiry: number | null;
  /** `reserved`: dnsmasq serves this MAC this IP from our hostsfile; `pool`: from the dhcp range. */
  kind: 'reserved' | 'pool';
}

/**
 * Pure: one network's active (not yet expired) leases with their VM, IPv4 ones first. The
 * reservations are the ones dnsmasq serves (MACs from the config, leases.d, or learned by the
 * hooks). A DHCPv6 lease is reserved when it holds a reservation's ip6 (dnsmasq hands that to the
 * reservation's MACs only), whatever MAC its DUID names.
 */
export function joinLeases(
  network: string,
  leases: Omit<DhcpLease, 'line'>[],
  reservations: Reservation[],
  domains: DomainRecord[],
  bridge: string,
  now: number,
  leases6: Omit<Dhcp6Lease, 'line'>[] = [],
): LeaseViewRow[] {
  const recordOwner = (mac: string) =>
    domains.find((d) => d.nics.some((n) => n.mac === mac && n.bridge === bridge))?.vm ?? domains.find((d) => d.nics.some((n) => n.mac === mac))?.vm ?? null;
  const ownerOf = (mac: string | null) => (mac === null ? null : (reservations.find((r) => r.macs.includes(mac))?.vm ?? recordOwner(mac)));
  const active = (l: { expiry: number | null }) => l.expiry === null || l.expiry > now;
  const rows4 = leases.filter(active).map((l) => {
    const served = reservations.find((r) => r.ip === l.ip && r.macs.includes(l.mac));
    return { network, vm: served?.vm ?? ownerOf(l.mac), mac: l.mac, ip: l.ip, hostname: l.hostname, expiry: l.expiry, kind: served ? 'reserved' : 'pool' } satisfies LeaseViewRow;
  });
  const rows6 = leases6.filter(active).map((l) => {
    const served = reservations.find((r) => r.ip6 === l.ip);
    return { network, vm: served?.vm ?? ownerOf(l.mac), mac: l.mac, ip: l.ip, hostname: l.hostname, expiry: l.expiry, kind: served ? 'reserved' : 'pool' } satisfies LeaseViewRow;
  });
  rows4.sort((a, b) => parseIPv4(a.ip)! - parseIPv4(b.ip)!);
  rows6.sort((a, b) => {
    const d = parseIPv6(a.ip)! - parseIPv6(b.ip)!;
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  return [...rows4, ...rows6];
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
    const { leases, leases6 } = leasesIn(ctx, file);
    const { reservations } = reservationsFor(net, config.leases, config.domains);
    rows.push(...joinLeases(net.name, leases, reservations, config.domains, net.bridge, now, leases6));
  }
  return rows;
}

/** A damaged file names its first few bad lines, not every one of thousands. */
const MAX_BAD_LINES_SHOWN = 5;

function leasesIn(ctx: Context, file: string): { leases: DhcpLease[]; leases6: Dhcp6Lease[] } {
  let text: string | null;
  try {
    text = readLeaseFile(file);
  } catch (e) {
    ctx.log.warn(`${file}: ${unexpected(e)} (its leases are not shown)`);
    return { leases: [], leases6: [] };
  }
  const { leases, leases6, bad } = readDnsmasqLeases(text ?? '');
  for (const b of bad.slice(0, MAX_BAD_LINES_SHOWN)) ctx.log.warn(`${file} line ${b.line}: ${b.why} (skipped)`);
  if (bad.length > MAX_BAD_LINES_SHOWN) ctx.log.warn(`${file}: ${bad.length - MAX_BAD_LINES_SHOWN} more lines that are not leases (skipped)`);
  return { leases, leases6 };
}
