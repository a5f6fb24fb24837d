import { describe, it } from 'vitest';
import { golden } from './golden.js';
import type { Reservation } from '../../src/model/types.js';
import { renderHostsfile } from '../../src/render/dnsmasq.js';

// dnsmasq's dhcp-host syntax with IPv6: the address in brackets after the IPv4 one (dnsmasq(8) --dhcp-host)
const reservations: Reservation[] = [
  { vm: 'web', macs: ['52:54:00:aa:bb:01'], ip: '192.168.100.10', ip6: 'fd00:1:2:3::10', hostname: 'web' },
  { vm: 'db', macs: ['52:54:00:aa:bb:02', '52:54:00:aa:bb:03'], ip: '192.168.100.11', ip6: 'fd00:1:2:3::11', hostname: 'db' },
  { vm: 'v4only', macs: ['52:54:00:aa:bb:04'], ip: '192.168.100.12', ip6: null, hostname: 'v4only' },
  { vm: 'second-nic', macs: ['52:54:00:aa:bb:05'], ip: '192.168.100.13', ip6: 'fd00:1:2:3::13', hostname: '' },
];

describe('hostsfile with IPv6 reservations', () => {
  it('MAC[,MAC],id:*,IPv4,[IPv6],NAME', () => golden('ipv6.hosts', renderHostsfile(reservations)));
});
