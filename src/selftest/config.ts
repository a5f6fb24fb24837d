import type { Firewall } from '../model/types.js';

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
} as const;

export type FirewallChoice = Firewall;

/**
 * config.toml text. Without a firewall choice the file is empty: the built-in default
 * network is what gets tested. With one, the handbook network is spelled out.
 */
export function selftestConfig(firewall?: FirewallChoice): string {
  if (!firewall) return '# empty: the built-in default network\n';
  return [
    '[[network]]',
    'name = "natnet"',
    `bridge = "${SELFTEST.bridge}"`,
    'mac = "52:54:00:7e:27:af"',
    `address = "${SELFTEST.gateway}/24"`,
    'dhcp_range = "192.168.100.128-192.168.100.254"',
    `domain = "${SELFTEST.domain}"`,
    `firewall = "${firewall}"`,
    '',
  ].join('\n');
}

/** leases.d/vm1.toml */
export function vm1LeaseFile(): string {
  const { name, ip, mac } = SELFTEST.vm1;
  return `vm = "${name}"\nip = "${ip}"\nmac = "${mac}"\nhostname = "${name}"\n`;
}
