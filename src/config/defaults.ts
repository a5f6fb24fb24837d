/** The libvirt networking handbook's custom NAT network, with STP off (see README: STP on delays DHCP 4-6 s). */
export const DEFAULT_NETWORK = {
  name: 'natnet',
  bridge: 'virbr10',
  mac: '52:54:00:7e:27:af',
  address: '192.168.100.1/24',
  stp: false,
  forward_delay: 0,
  firewall: 'auto',
  lease_time: '12h',
  domain: 'natnet',
  autostart: true,
  down_when_idle: false,
  adopt: false,
} as const;

/** Pool default: upper half of the subnet, leaving the lower half for reservations. */
export const DEFAULT_POOL_FRACTION = 0.5;

/** The [[network]] keys of the IPv6 side (config/network-ipv6.ts); all but `ipv6` need `ipv6`. */
export const IPV6_KEYS = ['ipv6', 'ipv6_mode', 'dhcpv6', 'dhcpv6_range', 'ipv6_fix_accept_ra'] as const;

export const NETWORK_KEYS = new Set([
  'name',
  'bridge',
  'mac',
  'address',
  'dummy',
  'stp',
  'forward_delay',
  'firewall',
  'outbound',
  'dhcp_range',
  'lease_time',
  'domain',
  'autostart',
  'down_when_idle',
  'adopt',
  ...IPV6_KEYS,
]);

export const LEASE_KEYS = new Set(['vm', 'ip', 'mac', 'hostname']);

export const TOP_LEVEL_KEYS = new Set(['network', 'lease', 'forward', 'listener']);
