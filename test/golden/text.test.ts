import { describe, it } from 'vitest';
import { golden } from './golden.js';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { NetworkStatus, StatusReport } from '../../src/engine/status.js';
import { renderLeaseFile } from '../../src/render/lease-file.js';
import { renderStatusText } from '../../src/render/status-text.js';
import { formatTable } from '../../src/selftest/table.js';

const [net] = parseMainConfig('', new Problems('f')).networks;

function report(degraded: boolean): StatusReport {
  return {
    schemaVersion: 1,
    healthy: !degraded,
    autoRule: 'auto = ...',
    configWarnings: degraded ? ['domain "old" <metadata>: lease[0].ip: ... (metadata lease ignored)'] : [],
    unconfigured: degraded ? ['oldnet'] : [],
    badRecords: degraded
      ? [
          { file: '/run/natnet-hook/applied/natnet.json.bad', why: 'not valid JSON (truncated?)' },
          { file: '/var/lib/natnet-hook/domains/web.json.bad', why: '.nics[0].mac: expected a unicast MAC like 52:54:00:aa:bb:01' },
        ]
      : [],
    listener: degraded
      ? null
      : {
          pid: 4242,
          started: '2026-11-27T10:00:00.000Z',
          updated: '2026-11-27T10:05:00.000Z',
          bus: { address: 'unix:path=/run/dbus/system_bus_socket', connected: true, uniqueName: ':1.7', reconnects: 0 },
          services: { networkManager: true, firewalld: true },
          lastEvent: { time: '2026-11-27T10:04:00.000Z', what: 'firewalld Reloaded' },
          lastRepair: { time: '2026-11-27T10:04:00.050Z', reason: 'firewalld Reloaded', actions: ['natnet: apply iptables rules'] },
          repairs: 3,
          nmManaged: { virbr10: true },
          firewalldZone: { virbr10: 'trusted' },
          running: true,
        },
    networks: [
      {
        name: net.name,
        state: degraded ? 'degraded' : 'healthy',
        applied: true,
        configChanged: [],
        autostart: true,
        backend: 'iptables (nft)',
        backendWhy: 'auto: iptables binary found (nft)',
        bridge: {
          name: 'virbr10',
          exists: true,
          up: true,
          mac: degraded ? '52:54:00:00:00:99' : net.mac,
          wantMac: net.mac,
          addresses: ['192.168.100.1/24'],
          wantAddress: '192.168.100.1/24',
          stp: false,
          forwardDelay: 0,
          ports: [{ name: 'vnet0', mac: 'fe:54:00:aa:bb:01', vm: 'web' }],
        },
        dummy: { name: 'virbr10-nic', state: 'unsupported', why: 'kernel has no dummy netdev' },
        forwarding: !degraded,
        firewall: degraded
          ? { ok: false, unchecked: null, missing: ['nat -A NATNET-POST-virbr10 -s 192.168.100.0/24 -d 224.0.0.0/24 -j RETURN'], extra: [], missingJumps: [{ table: 'filter', from: 'FORWARD', to: 'NATNET-FWD-virbr10' }], duplicateJumps: [] }
          : { ok: true, unchecked: null, missing: [], extra: [], missingJumps: [], duplicateJumps: [] },
        dnsmasq: { pid: 777, alive: true, listening: ['udp 192.168.100.1:53', 'udp 0.0.0.0%virbr10:67'], hostsfileCurrent: true },
        reservations: [{ vm: 'web', macs: ['52:54:00:aa:bb:01'], ip: '192.168.100.10', ip6: null, hostname: 'web' }],
        pending: degraded ? [{ vm: 'db', ip: '192.168.100.11', why: 'no MAC known yet' }] : [],
        leases: [{ expires: '2026-11-27T22:00:00.000Z', mac: '52:54:00:aa:bb:01', ip: '192.168.100.10', hostname: 'web' }],
        ipv6: degraded
          ? {
              auto: true,
              gateway: 'fd12:3456:789a:1::1',
              subnet: 'fd12:3456:789a:1::',
              prefix: 64,
              mode: 'nat66',
              dhcpv6: 'stateless',
              dhcpRange: null,
              address: false,
              sysctls: { accept_dad: '0', accept_ra: '1', autoconf: '0', disable_ipv6: '0' },
              wantSysctls: { accept_dad: '0', accept_ra: '0', autoconf: '0', disable_ipv6: '0' },
              forwarding: true,
            }
          : null,
        problems: degraded ? ['bridge MAC 52:54:00:00:00:99, expected 52:54:00:7e:27:af', 'net.ipv4.ip_forward is 0', 'rule missing: ...'] : [],
      },
    ],
  };
}

/** Three networks: one down on purpose, one down that the running listener should have brought up, one with a config change not applied. */
function statesReport(): StatusReport {
  const base = report(false);
  const [healthy] = base.networks;
  const down = (name: string, problems: string[]): NetworkStatus => ({ ...healthy, name, state: 'down', applied: false, problems });
  return {
    ...base,
    healthy: false,
    networks: [
      down('spare', []),
      down('lab', ["autostart = true and the listener is running, but the network is not up (see the listener's last repair; `natnet-hook up` brings it up)"]),
      {
        ...healthy,
        state: 'pending',
        configChanged: ['firewall', 'dhcp_range'],
        problems: ['tap vnet1 of running VM "db" is not on virbr10 (on no bridge): the VM is cut off; `natnet-hook up` puts it back'],
      },
    ],
  };
}

describe('golden text output', () => {
  it('status: down (one line each) and pending', () => golden('status-states.txt', renderStatusText(statesReport())));
  it('status, healthy, with the listener', () => golden('status-healthy.txt', renderStatusText(report(false))));
  it('status, degraded, no listener', () => golden('status-degraded.txt', renderStatusText(report(true))));
  it('selftest table', () =>
    golden(
      'selftest-table.txt',
      formatTable('natnet-hook selftest', [
        { name: 'reserved lease', ok: true, detail: 'got 192.168.100.10' },
        { name: 'NAT tcp', ok: false, detail: 'peer saw 192.168.100.10\n(expected 203.0.113.1)' },
      ]),
    ));
  it('a leases.d file as lease add writes it', () =>
    golden(
      'lease-file.toml',
      renderLeaseFile({ vm: 'web "1" ü', ip: '192.168.100.10', ip6: null, macs: ['52:54:00:aa:bb:01'], hostname: 'web1', source: { file: '', field: '' } }),
    ));
});
