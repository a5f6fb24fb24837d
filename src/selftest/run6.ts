/**
 * The selftest's IPv6 checks, run when the network has an IPv6 side: the guests' addresses (SLAAC,
 * or DHCPv6 with vm1's reservation), their default route via the bridge's link-local address,
 * the upstream peer over IPv6 (NAT66: it sees the router; routed: the guest), inbound rejected,
 * and vm1's name resolving to its IPv6 address through the gateway.
 */
import { inSubnet6, parseCidr6, parseIPv6 } from '../net/ipv6.js';
import { labIpv6, SELFTEST, type SelftestIpv6 } from './config.js';
import { dhclientProblem, dhcp6Once, type Dhclient6Guest } from './dhclient6.js';
import { type Exec, sleep } from './exec.js';
import { resolveName, roundTrip } from './probes.js';
import { addresses6, defaultRoute6, waitAddressIn, waitResolves } from './probes6.js';
import { UPSTREAM6 } from './topology.js';

export type Check = (name: string, ok: boolean, detail: string) => void;

export interface Lab6 {
  router: string;
  upstream: string;
  /** vm1 (reserved) and vm2 (pool) namespaces. */
  vm1: string;
  vm2: string;
  /** Directory for the guests' dhclient files. */
  dir: string;
  /** dhclient's event script and config (dhclient6.ts writeDhclient6Files), with stateful DHCPv6. */
  dhclient: { script: string; conf: string } | null;
}

/** The tools the IPv6 checks need besides the IPv4 ones. */
export function ipv6Tools(v6: SelftestIpv6): string[] {
  return ['sysctl', ...(v6.dhcpv6 === 'stateful' ? ['dhclient'] : [])];
}

/** How a rejected connection shows on the client: an ICMPv6 error, never a time-out. */
const REJECTED = /refused|denied|prohibited|unreachable|no route/i;

export async function ipv6Checks(exec: Exec, check: Check, lab: Lab6, v6: SelftestIpv6): Promise<void> {
  const net = labIpv6(v6);
  const cidr = parseCidr6(net.cidr)!;
  const guest = (ns: string, name: string): Dhclient6Guest => ({ ns, name, dir: lab.dir });

  let vm1: string | null;
  if (v6.dhcpv6 === 'stateful') {
    const d1 = await dhcp6Once(exec, guest(lab.vm1, SELFTEST.vm1.name), lab.dhclient!);
    vm1 = d1.ip;
    check(`IPv6 reserved lease (DHCPv6): vm1 gets ${net.vm1}`, vm1 === net.vm1, vm1 ? `got ${vm1}` : `no lease: ${dhclientProblem(d1.output)}`);
    const d2 = await dhcp6Once(exec, guest(lab.vm2, SELFTEST.vm2.name), lab.dhclient!);
    const [start, end] = net.range.map((a) => parseIPv6(a)!);
    const got = d2.ip === null ? null : parseIPv6(d2.ip)!;
    check(`IPv6 pool lease (DHCPv6): vm2 gets an address from ${net.range.join('-')}`, got !== null && got >= start && got <= end, d2.ip ? `got ${d2.ip}` : `no lease: ${dhclientProblem(d2.output)}`);
  } else {
    vm1 = await waitAddressIn(exec, lab.vm1, 'eth0', net.cidr);
    check(`IPv6 SLAAC: vm1 gets an address in ${net.cidr}`, vm1 !== null, vm1 ? `got ${vm1}` : `none after 15 s: ${(await addresses6(exec, lab.vm1, 'eth0', 'global')).join(', ') || 'no global address'}`);
  }

  const [bridgeLinkLocal] = await addresses6(exec, lab.router, SELFTEST.bridge, 'link');
  const route = await waitDefaultRoute(exec, lab.vm1);
  check(
    "IPv6 default route: vm1's is via the bridge's link-local address",
    route !== null && bridgeLinkLocal !== undefined && route.via === bridgeLinkLocal && route.dev === 'eth0',
    route ? `via ${route.via} dev ${route.dev} (bridge: ${bridgeLinkLocal ?? 'no link-local address'})` : 'no default route after 10 s',
  );
  if (vm1 === null || !inSubnet6(parseIPv6(vm1)!, cidr)) return;

  const nat = v6.mode === 'nat66';
  const expected = nat ? UPSTREAM6.routerIp : vm1;
  for (const proto of ['tcp', 'udp'] as const) {
    const rt = await roundTrip(exec, { serverNs: lab.upstream, clientNs: lab.vm1, ip: UPSTREAM6.peerIp, port: 8080, proto });
    check(
      `IPv6 ${nat ? 'NAT66' : 'routed'} ${proto}: upstream peer sees ${nat ? UPSTREAM6.routerIp : "vm1's own address"}`,
      rt.peerSaw === expected,
      rt.peerSaw ? `peer saw ${rt.peerSaw}` : `peer saw nothing ${rt.clientError}`,
    );
  }

  const inbound = await roundTrip(exec, { serverNs: lab.vm1, clientNs: lab.upstream, ip: vm1, port: 9000, proto: 'tcp' });
  check(
    'IPv6 inbound from upstream to vm1 is rejected',
    !inbound.connected && inbound.peerSaw === null && REJECTED.test(inbound.clientError),
    inbound.connected ? `connected, vm1 saw ${inbound.peerSaw}` : inbound.clientError || 'no answer',
  );

  const fqdn = `${SELFTEST.vm1.name}.${SELFTEST.domain}`;
  // SLAAC: dnsmasq's ra-names learns the address some seconds after vm1's DHCPv4 lease
  const answers = await waitResolves(() => resolveName(exec, lab.vm1, fqdn, net.gateway, 'AAAA'), vm1);
  check(
    `DNS AAAA: ${fqdn} resolves to vm1's IPv6 address through ${net.gateway}`,
    answers.includes(vm1),
    answers.length ? `answers ${answers.join(', ')} (vm1 has ${vm1})` : `no answer (vm1 has ${vm1})`,
  );
}

/** The RA that gives the default route comes within seconds of the link coming up. */
async function waitDefaultRoute(exec: Exec, ns: string) {
  for (let i = 0; i < 50; i++) {
    const r = await defaultRoute6(exec, ns);
    if (r) return r;
    await sleep(200);
  }
  return null;
}
