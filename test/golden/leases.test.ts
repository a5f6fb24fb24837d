import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { golden } from './golden.js';
import type { LeaseViewRow } from '../../src/observe/lease-view.js';
import { formatExpiry, leasesJson, renderLeasesTable, renderReservationsTable } from '../../src/render/leases-table.js';

// local time is the point of the view: fix the zone for the files
let tz: string | undefined;
beforeAll(() => {
  tz = process.env.TZ;
  process.env.TZ = 'Europe/Berlin';
});
afterAll(() => {
  if (tz === undefined) delete process.env.TZ;
  else process.env.TZ = tz;
});

const rows: LeaseViewRow[] = [
  { network: 'natnet', vm: 'web1', mac: '52:54:00:aa:bb:01', ip: '192.168.100.10', hostname: 'web1', expiry: 1764541845, kind: 'reserved' },
  { network: 'natnet', vm: 'db', mac: '52:54:00:aa:bb:02', ip: '192.168.100.200', hostname: null, expiry: null, kind: 'pool' },
  { network: 'lab', vm: null, mac: '52:54:00:aa:bb:03', ip: '10.20.0.130', hostname: 'stranger', expiry: 1751328000, kind: 'pool' },
];
// DHCPv6 leases (a network with dhcpv6 = "stateful"): a reserved ip6, and a pool one whose DUID carries no MAC
const rows6: LeaseViewRow[] = [
  { network: 'natnet', vm: 'web1', mac: '52:54:00:aa:bb:01', ip: 'fd00:1:2:3::10', hostname: 'web1', expiry: 1764541845, kind: 'reserved' },
  { network: 'natnet', vm: null, mac: null, ip: 'fd00:1:2:3::1000', hostname: null, expiry: null, kind: 'pool' },
];

describe('leases and reservations as tables', () => {
  it('local time, "never" for an infinite lease', () => {
    expect(formatExpiry(1764541845)).toBe('2025-11-30 23:30:45');
    expect(formatExpiry(1751328000)).toBe('2025-07-01 02:00:00');
    expect(formatExpiry(null)).toBe('never');
  });
  it('leases', () => golden('leases.txt', renderLeasesTable(rows)));
  it('leases, none', () => expect(renderLeasesTable([])).toBe('no active leases\n'));
  it('leases --json', () => golden('leases.json', leasesJson(rows)));
  it('leases with DHCPv6 ones', () => golden('leases-ipv6.txt', renderLeasesTable([...rows, ...rows6])));
  it('leases --json with DHCPv6 ones', () => golden('leases-ipv6.json', leasesJson(rows6)));
  it('lease list', () =>
    golden(
      'lease-list.txt',
      renderReservationsTable([
        { vm: 'web1', ip: '192.168.100.10', ip6: null, macs: ['52:54:00:aa:bb:01'], hostname: 'web1', network: 'natnet', source: '/etc/natnet-hook/config.toml lease[0]' },
        { vm: 'db', ip: '192.168.100.20', ip6: null, macs: [], hostname: null, network: 'natnet', source: '/etc/natnet-hook/leases.d/db.toml' },
        { vm: 'odd\tname', ip: '10.9.9.9', ip6: null, macs: ['52:54:00:aa:bb:04', '52:54:00:aa:bb:05'], hostname: 'odd', network: null, source: 'domain "odd" <metadata>' },
      ]),
    ));
  it('lease list with an ip6 reservation: an IP6 column', () =>
    golden(
      'lease-list-ipv6.txt',
      renderReservationsTable([
        { vm: 'web1', ip: '192.168.100.10', ip6: 'fd00:1:2:3::10', macs: ['52:54:00:aa:bb:01'], hostname: 'web1', network: 'natnet', source: '/etc/natnet-hook/leases.d/web1.toml' },
        { vm: 'db', ip: '192.168.100.20', ip6: null, macs: [], hostname: null, network: 'natnet', source: '/etc/natnet-hook/leases.d/db.toml' },
      ]),
    ));
});
