import type { DomainRecord, Lease, Network, Reservation } from '../model/types.js';
import { inSubnet, parseIPv4 } from '../net/ipv4.js';
import { formatIPv6, interfaceId6, parseIPv6 } from '../net/ipv6.js';
import { leaseHostname } from '../net/names.js';

export interface PendingLease {
  lease: Lease;
  why: string;
}

/**
 * The reservations dnsmasq serves for one network. A lease pinned to MACs uses them; an
 * unpinned one uses the MACs the hooks saw for that VM on this bridge, or waits for them.
 */
export function reservationsFor(
  net: Network,
  leases: Lease[],
  domains: DomainRecord[],
): { reservations: Reservation[]; pending: PendingLease[] } {
  const served: { r: Reservation; ip: number }[] = [];
  const pending: PendingLease[] = [];
  const names = new Set<string>();
  const cidr = { network: parseIPv4(net.subnet)!, prefix: net.prefix };
  // each address parsed once (10,000 leases.d files: this runs on every lease change)
  const mine: { lease: Lease; ip: number }[] = [];
  for (const lease of leases) {
    const ip = parseIPv4(lease.ip)!;
    if (inSubnet(ip, cidr)) mine.push({ lease, ip });
  }
  const domainByVm = new Map(domains.map((d) => [d.vm, d]));
  const pinned = new Set<string>();
  for (const { lease } of mine) for (const mac of lease.macs) pinned.add(mac);
  for (const { lease, ip } of mine) {
    let macs = lease.macs;
    if (macs.length === 0) {
      const rec = domainByVm.get(lease.vm);
      macs = (rec?.nics ?? []).filter((n) => n.bridge === net.bridge && !pinned.has(n.mac)).map((n) => n.mac);
      if (macs.length === 0) {
        pending.push({ lease, why: `no MAC known yet for VM ${JSON.stringify(lease.vm)} on ${net.bridge} (learned when it starts)` });
        continue;
      }
    }
    let hostname = leaseHostname(lease) ?? '';
    // a VM's second NIC: one name, one address (validation refuses the name on two VMs)
    if (hostname && names.has(hostname)) hostname = '';
    if (hostname) names.add(hostname);
    served.push({ r: { vm: lease.vm, macs: macs.length === 1 ? [macs[0]] : [...new Set(macs)].sort(), ip: lease.ip, ip6: servedIp6(net, lease.ip6), hostname }, ip });
  }
  served.sort((a, b) => a.ip - b.ip);
  const reservations = served.map((s) => s.r);
  return { reservations, pending };
}

/**
 * The address dnsmasq serves for a reservation's ip6: as written, or, written as an interface
 * identifier ("::10"), behind the network's (resolved) prefix. Null without stateful DHCPv6
 * (validation refuses such an ip6; this keeps it out of the hostsfile all the same).
 */
export function servedIp6(net: Network, ip6: string | null): string | null {
  const v6 = net.ipv6;
  if (ip6 === null || v6?.dhcpv6 !== 'stateful') return null;
  const ip = parseIPv6(ip6);
  const subnet = parseIPv6(v6.subnet);
  if (ip === null || subnet === null) return null;
  return interfaceId6(ip) === ip ? formatIPv6(subnet | ip) : ip6;
}
