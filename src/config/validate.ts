import type { ConfigProblem } from '../errors.js';
import type { Lease, Network } from '../model/types.js';
import { inSubnet, parseIPv4 } from '../net/ipv4.js';
import { bridgeAddress6, inSubnet6, interfaceId6, overlaps6, parseIPv6, prefixOf6, prefixText6 } from '../net/ipv6.js';
import { leaseHostname } from '../net/names.js';
import { nftTable } from '../render/names.js';
import { isUnresolvedIpv6 } from './network-ipv6.js';
import { joinField } from './problems.js';

export interface LeaseProblem extends ConfigProblem {
  /** The leases this problem is about (to tell hard config errors from droppable metadata ones). */
  involved: Lease[];
}

function where(l: Lease): string {
  return l.source.field ? `${l.source.file} ${l.source.field}` : l.source.file;
}

function cidrOf(n: Network) {
  return { network: parseIPv4(n.subnet)!, prefix: n.prefix };
}

/** Problems between networks: names, bridges, interfaces, MACs, overlapping subnets. */
export function validateNetworks(file: string, networks: Network[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const seen = new Map<string, string>();
  networks.forEach((n, i) => {
    const field = `network[${i}]`;
    const claims: [string, string, string][] = [
      [`name:${n.name}`, 'name', n.name],
      [`if:${n.bridge}`, 'bridge', n.bridge],
      [`mac:${n.mac}`, 'mac', n.mac],
    ];
    if (n.dummy) claims.push([`if:${n.dummy}`, 'dummy', n.dummy]);
    // bridge names that differ only in "-", "." or "_" would share one nft table
    claims.push([`nft:${nftTable(n)}`, 'bridge', n.bridge]);
    if (n.outbound === n.bridge || (n.dummy && n.outbound === n.dummy)) {
      out.push({ file, field: `${field}.outbound`, value: n.outbound, expected: 'expected an uplink, not our own bridge or dummy' });
    }
    for (const [key, what, value] of claims) {
      const other = seen.get(key);
      if (other) out.push({ file, field: `${field}.${what}`, value, expected: `expected a value not already used by ${other}` });
      else seen.set(key, `${field} (${n.name})`);
    }
    networks.slice(0, i).forEach((m, j) => {
      const a = cidrOf(n);
      const b = cidrOf(m);
      if (inSubnet(a.network, b) || inSubnet(b.network, a)) {
        out.push({
          file,
          field: `${field}.address`,
          value: `${n.gateway}/${n.prefix}`,
          expected: `expected a subnet that does not overlap network[${j}] (${m.name}, ${m.subnet}/${m.prefix})`,
        });
      }
      // IPv6 prefixes, explicit or kept from an earlier `auto` (one not generated yet avoids the others: engine/ipv6-prefix.ts)
      if (n.ipv6 && m.ipv6 && !isUnresolvedIpv6(n.ipv6) && !isUnresolvedIpv6(m.ipv6)) {
        if (overlaps6(prefixOf6(n.ipv6), prefixOf6(m.ipv6))) {
          out.push({
            file,
            field: `${field}.ipv6`,
            value: bridgeAddress6(n.ipv6),
            expected: `expected a prefix that does not overlap network[${j}] (${m.name}, ${prefixText6(m.ipv6)})`,
          });
        }
      }
    });
  });
  return out;
}

export function networkOfIp(networks: Network[], ip: string): Network | undefined {
  const n = parseIPv4(ip);
  return n === null ? undefined : networks.find((net) => inSubnet(n, cidrOf(net)));
}

/** Numbers of a network, computed once per validation rather than once per lease. */
function numbersOf(n: Network) {
  const subnet = parseIPv4(n.subnet)!;
  return {
    net: n,
    cidr: { network: subnet, prefix: n.prefix },
    subnet,
    broadcast: subnet + 2 ** (32 - n.prefix) - 1,
    gateway: parseIPv4(n.gateway)!,
    poolStart: parseIPv4(n.dhcpStart)!,
    poolEnd: parseIPv4(n.dhcpEnd)!,
  };
}

/** Problems of leases against the networks and against each other. */
export function validateLeases(networks: Network[], leases: Lease[]): LeaseProblem[] {
  const out: LeaseProblem[] = [];
  const add = (l: Lease, field: string, value: unknown, expected: string, others: Lease[] = []) =>
    out.push({ file: l.source.file, field: joinField(l.source.field, field), value, expected, involved: [l, ...others] });

  const nets = networks.map(numbersOf);
  const subnets = networks.map((n) => `${n.subnet}/${n.prefix}`).join(', ');
  const byIp = new Map<string, Lease>();
  const byMac = new Map<string, Lease>();
  const byVm = new Map<string, Lease[]>();
  const byHostname = new Map<string, Lease>();
  for (const l of leases) {
    const ip = parseIPv4(l.ip)!;
    const n = nets.find((x) => inSubnet(ip, x.cidr));
    if (!n) {
      add(l, 'ip', l.ip, `expected an address inside a configured network (${subnets})`);
    } else {
      const name = n.net.name;
      if (ip === n.subnet) add(l, 'ip', l.ip, `expected a host address, not the network address of ${name}`);
      else if (ip === n.broadcast) add(l, 'ip', l.ip, `expected a host address, not the broadcast address of ${name}`);
      else if (ip === n.gateway) add(l, 'ip', l.ip, `expected an address other than the gateway of ${name}`);
      else if (ip >= n.poolStart && ip <= n.poolEnd) {
        add(l, 'ip', l.ip, `expected an address outside the dynamic pool ${n.net.dhcpStart}-${n.net.dhcpEnd} of ${name}`);
      }
    }
    const ipTwin = byIp.get(l.ip);
    if (ipTwin) add(l, 'ip', l.ip, `expected an address not already reserved by ${where(ipTwin)} (vm ${JSON.stringify(ipTwin.vm)})`, [ipTwin]);
    else byIp.set(l.ip, l);
    for (const mac of l.macs) {
      const twin = byMac.get(mac);
      if (twin) add(l, 'mac', mac, `expected a MAC not already reserved by ${where(twin)} (vm ${JSON.stringify(twin.vm)})`, [twin]);
      else byMac.set(mac, l);
    }
    const same = byVm.get(l.vm);
    const clash = same?.find((o) => o.macs.length === 0 || l.macs.length === 0);
    if (clash) {
      add(
        l,
        'vm',
        l.vm,
        `expected one lease per VM, or several pinned to different MACs (also in ${where(clash)})`,
        [clash],
      );
    }
    if (same) same.push(l);
    else byVm.set(l.vm, [l]);
    // dnsmasq can give a name to one VM only: a second VM with it would silently get none
    const hostname = leaseHostname(l);
    const twin = hostname ? byHostname.get(hostname) : undefined;
    if (hostname && !twin) byHostname.set(hostname, l);
    else if (twin && twin.vm !== l.vm) {
      const theirs = `${where(twin)} (vm ${JSON.stringify(twin.vm)}${twin.hostname ? '' : ', derived from its name'})`;
      if (l.hostname) add(l, 'hostname', l.hostname, `expected a name not already used by ${theirs}`, [twin]);
      else {
        add(l, 'vm', l.vm, `expected a VM whose host name ${JSON.stringify(hostname)} (derived from its name) is not already used by ${theirs}; set hostname for one of them`, [twin]);
      }
    }
  }
  out.push(...validateLeaseIp6(networks, leases));
  return out;
}

/**
 * The `ip6` of reservations: served by DHCPv6 (so only on a network with `dhcpv6 = "stateful"`),
 * inside the network's prefix, not its subnet-router anycast or gateway address, outside its
 * DHCPv6 range, and reserved once. The network is the one the lease's IPv4 address is in (a lease
 * outside every network is already a problem of validateLeases). An ip6 of interface identifier
 * only ("::10") is inside the prefix, whatever it is (reservationsFor puts it in front); on an
 * `auto` network it is the only form (like its dhcpv6_range): the prefix is not the config's to name.
 */
export function validateLeaseIp6(networks: Network[], leases: Lease[]): LeaseProblem[] {
  const out: LeaseProblem[] = [];
  const add = (l: Lease, expected: string, others: Lease[] = []) =>
    out.push({ file: l.source.file, field: joinField(l.source.field, 'ip6'), value: l.ip6, expected, involved: [l, ...others] });
  const byAddress = new Map<string, Lease>();
  for (const l of leases) {
    if (l.ip6 === null) continue;
    const net = networkOfIp(networks, l.ip);
    if (!net) continue;
    const v6 = net.ipv6;
    if (v6?.dhcpv6 !== 'stateful') {
      add(l, `ip6 needs ${v6 ? '' : 'ipv6 and '}dhcpv6 = "stateful" on network ${net.name}`);
      continue;
    }
    const ip = parseIPv6(l.ip6)!;
    const id = interfaceId6(ip);
    const relative = ip === id;
    const hostOf = (text: string | null) => (text === null ? null : interfaceId6(parseIPv6(text)!));
    const [start, end] = [hostOf(v6.dhcpStart), hostOf(v6.dhcpEnd)];
    // an auto prefix is generated by the first up (and may be again): a full address would not stay inside it
    if (!relative && v6.auto) {
      add(l, 'expected an interface identifier like ::10 (an auto prefix is generated by the first up)');
      continue;
    }
    if (!relative && !inSubnet6(ip, prefixOf6(v6))) {
      add(l, `expected an address inside the IPv6 prefix ${prefixText6(v6)} of ${net.name}, or an interface identifier like ::10`);
      continue;
    }
    if (id === 0n) add(l, `expected a host address, not the subnet-router anycast address of ${net.name}`);
    else if (id === hostOf(v6.gateway)) add(l, `expected an address other than the IPv6 gateway of ${net.name}`);
    else if (start !== null && end !== null && id >= start && id <= end) {
      add(l, `expected an address outside the DHCPv6 range ${v6.dhcpStart}-${v6.dhcpEnd} of ${net.name}`);
    }
    // "::10" and "<prefix>::10" are one address
    const key = `${net.name} ${id}`;
    const twin = byAddress.get(key);
    if (twin) add(l, `expected an address not already reserved by ${where(twin)} (vm ${JSON.stringify(twin.vm)})`, [twin]);
    else byAddress.set(key, l);
  }
  return out;
}
