import type { Dhcpv6Mode, Firewall, Ipv6Mode, Network } from '../model/types.js';
import { formatIPv6, parseIPv6 } from '../net/ipv6.js';

/** The network the selftest builds: the built-in default plus two simulated VMs. */
export const SELFTEST = {
  bridge: 'virbr10',
  gateway: '192.168.100.1',
  subnet: '192.168.100.0/24',
  domain: 'natnet',
  poolStart: 128,
  poolEnd: 254,
  /** vm1 has a reservation (in leases.d/, the tool-written place); vm2 draws from the pool. */
  vm1: { name: 'vm1', mac: '52:54:00:aa:bb:01', ip: '192.168.100.10', port: 'vnet1' },
  vm2: { name: 'vm2', mac: '52:54:00:aa:bb:02', port: 'vnet2' },
  /** The port forward `forward add` makes live: host port → vm1's port. */
  forward: { hostPort: 8443, vmPort: 9443 },
  /**
   * The IPv6 side, when the config asks for one: a ULA prefix for nat66, a documentation
   * (global unicast) one for routed; vm1's reservation as an interface identifier.
   */
  ipv6: {
    nat66: { gateway: 'fd00:5e1f:7e57:1::1', subnet: 'fd00:5e1f:7e57:1::' },
    routed: { gateway: '2001:db8:5e1f:1::1', subnet: '2001:db8:5e1f:1::' },
    prefix: 64,
    vm1Id: '::10',
    /** The DHCPv6 range with `stateful`, as interface identifiers. */
    range: ['::1000', '::1fff'],
  },
} as const;

/** What of IPv6 the selftest network has: the user's first network with `ipv6` set decides. */
export interface SelftestIpv6 {
  mode: Ipv6Mode;
  dhcpv6: Dhcpv6Mode;
}

export function selftestIpv6Of(networks: Network[]): SelftestIpv6 | null {
  const v6 = networks.find((n) => n.ipv6 !== null)?.ipv6;
  return v6 ? { mode: v6.mode, dhcpv6: v6.dhcpv6 } : null;
}

/** The lab's IPv6 numbers for a mode: gateway, prefix in CIDR form, vm1's reserved address. */
export function labIpv6(v6: SelftestIpv6) {
  const { gateway, subnet } = SELFTEST.ipv6[v6.mode];
  const { prefix, vm1Id, range } = SELFTEST.ipv6;
  const inPrefix = (id: string) => formatIPv6(parseIPv6(subnet)! | parseIPv6(id)!);
  return { gateway, cidr: `${subnet}/${prefix}`, vm1: inPrefix(vm1Id), range: [inPrefix(range[0]), inPrefix(range[1])] as const };
}

export type FirewallChoice = Firewall;

/**
 * config.toml text. Without a firewall choice the file is empty: the built-in default
 * network is what gets tested. With one, the handbook network is spelled out.
 */
export function selftestConfig(firewall?: FirewallChoice, ipv6?: SelftestIpv6 | null): string {
  if (!firewall && !ipv6) return '# empty: the built-in default network\n';
  return [
    '[[network]]',
    'name = "natnet"',
    `bridge = "${SELFTEST.bridge}"`,
    'mac = "52:54:00:7e:27:af"',
    `address = "${SELFTEST.gateway}/24"`,
    'dhcp_range = "192.168.100.128-192.168.100.254"',
    `domain = "${SELFTEST.domain}"`,
    ...(firewall ? [`firewall = "${firewall}"`] : []),
    ...(ipv6 ? ipv6Keys(ipv6) : []),
    '',
  ].join('\n');
}

function ipv6Keys(v6: SelftestIpv6): string[] {
  const keys = [`ipv6 = "${labIpv6(v6).gateway}/${SELFTEST.ipv6.prefix}"`, `ipv6_mode = "${v6.mode}"`, `dhcpv6 = "${v6.dhcpv6}"`];
  if (v6.dhcpv6 === 'stateful') keys.push(`dhcpv6_range = "${SELFTEST.ipv6.range.join('-')}"`);
  return keys;
}

/** leases.d/vm1.toml; with stateful DHCPv6 vm1 also reserves an IPv6 address (as an interface identifier). */
export function vm1LeaseFile(ipv6?: SelftestIpv6 | null): string {
  const { name, ip, mac } = SELFTEST.vm1;
  const ip6 = ipv6?.dhcpv6 === 'stateful' ? `ip6 = "${SELFTEST.ipv6.vm1Id}"\n` : '';
  return `vm = "${name}"\nip = "${ip}"\n${ip6}mac = "${mac}"\nhostname = "${name}"\n`;
}
