import { describe, expect, it } from 'vitest';
import { parseMainConfig, parseVmFile } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { validateLeases } from '../../src/config/validate.js';
import { reservationsFor } from '../../src/plan/reservations.js';
import { renderHostsfile } from '../../src/render/dnsmasq.js';
import { labIpv6, SELFTEST, type SelftestIpv6, selftestConfig, selftestIpv6Of, vm1LeaseFile } from '../../src/selftest/config.js';
import { DHCLIENT6_SCRIPT, dhclient6Argv, leasedAddress6 } from '../../src/selftest/dhclient6.js';
import { boundToBridge } from '../../src/selftest/probes.js';
import { parseAddresses6, parseDefaultRoute6 } from '../../src/selftest/probes6.js';

describe('selftest network with an IPv6 side', () => {
  const cases: SelftestIpv6[] = [
    { mode: 'nat66', dhcpv6: 'stateless' },
    { mode: 'nat66', dhcpv6: 'stateful' },
    { mode: 'routed', dhcpv6: 'stateless' },
    { mode: 'routed', dhcpv6: 'stateful' },
  ];
  for (const v6 of cases) {
    it(`${v6.mode} ${v6.dhcpv6}: the config and vm1's lease file are valid and say so`, () => {
      const p = new Problems('config.toml');
      const cfg = parseMainConfig(selftestConfig(undefined, v6), p);
      const { leases } = parseVmFile(vm1LeaseFile(v6), p);
      expect(p.list).toEqual([]);
      expect(validateLeases(cfg.networks, leases)).toEqual([]);
      const net = cfg.networks[0];
      expect(net.bridge).toBe(SELFTEST.bridge);
      expect(net.ipv6).toMatchObject({ mode: v6.mode, dhcpv6: v6.dhcpv6, gateway: labIpv6(v6).gateway });
      expect(selftestIpv6Of(cfg.networks)).toEqual(v6);
      const { reservations } = reservationsFor(net, leases, []);
      const ip6 = v6.dhcpv6 === 'stateful' ? `,[${labIpv6(v6).vm1}]` : '';
      expect(renderHostsfile(reservations)).toBe(`${SELFTEST.vm1.mac},id:*,${SELFTEST.vm1.ip}${ip6},vm1\n`);
    });
  }
  it('no ipv6 in the config: none in the selftest (the built-in network, IPv4 only)', () => {
    expect(selftestIpv6Of(parseMainConfig('', new Problems('x')).networks)).toBeNull();
    expect(selftestConfig()).toBe('# empty: the built-in default network\n');
    expect(vm1LeaseFile()).not.toContain('ip6');
  });
  it('numbers: a ULA prefix for nat66, a global one for routed', () => {
    expect(labIpv6({ mode: 'nat66', dhcpv6: 'stateful' })).toEqual({
      gateway: 'fd00:5e1f:7e57:1::1',
      cidr: 'fd00:5e1f:7e57:1::/64',
      vm1: 'fd00:5e1f:7e57:1::10',
      range: ['fd00:5e1f:7e57:1::1000', 'fd00:5e1f:7e57:1::1fff'],
    });
    expect(labIpv6({ mode: 'routed', dhcpv6: 'stateless' }).cidr).toBe('2001:db8:5e1f:1::/64');
  });
});

describe('selftest IPv6 probes (pure parts)', () => {
  it('ip -6 -o addr show: the addresses, RFC 5952', () => {
    const text = [
      '2: eth0    inet6 fd00:5e1f:7e57:1:5054:ff:feaa:bb01/64 scope global dynamic mngtmpaddr \\       valid_lft 86391sec preferred_lft 14391sec',
      '2: eth0    inet6 fd00:5e1f:7e57:1::10/128 scope global \\       valid_lft forever preferred_lft forever',
    ].join('\n');
    expect(parseAddresses6(text)).toEqual(['fd00:5e1f:7e57:1:5054:ff:feaa:bb01', 'fd00:5e1f:7e57:1::10']);
    expect(parseAddresses6('')).toEqual([]);
  });
  it('ip -6 route show default: gateway and device', () => {
    expect(parseDefaultRoute6('default via fe80::5054:ff:fe7e:27af dev eth0 proto ra metric 1024 expires 1799sec hoplimit 64 pref medium\n')).toEqual({
      via: 'fe80::5054:ff:fe7e:27af',
      dev: 'eth0',
    });
    expect(parseDefaultRoute6('')).toBeNull();
  });
  it("dhclient's lease database: the newest lease6's address", () => {
    const db = `default-duid "\\000\\001";\nlease6 {\n  interface "eth0";\n  ia-na 01:aa:bb:01 {\n    starts 1;\n    iaaddr fd00:1:2:3::1001 {\n      starts 1;\n    }\n  }\n}\nlease6 {\n  interface "eth0";\n  ia-na 01:aa:bb:01 {\n    iaaddr FD00:1:2:3:0::10 {\n    }\n  }\n}\n`;
    expect(leasedAddress6(db)).toBe('fd00:1:2:3::10');
    expect(leasedAddress6('default-duid "x";\n')).toBeNull();
  });
  it('dhclient runs with files of its own, never the system config, script or lease database', () => {
    const argv = dhclient6Argv({ ns: 'nnst-1-abcd-g1', name: 'vm1', dir: '/tmp/lab/guests' }, { script: '/tmp/lab/guests/dhclient6.script', conf: '/tmp/lab/guests/dhclient6.conf' });
    expect(argv).toEqual([
      'ip', 'netns', 'exec', 'nnst-1-abcd-g1',
      'dhclient', '-6', '-1', '-v', '-cf', '/tmp/lab/guests/dhclient6.conf', '-sf', '/tmp/lab/guests/dhclient6.script',
      '-lf', '/tmp/lab/guests/vm1.dhclient6.leases', '-pf', '/tmp/lab/guests/vm1.dhclient6.pid', 'eth0',
    ]);
    expect(DHCLIENT6_SCRIPT).not.toMatch(/resolv\.conf/);
  });
  it('dnsmasq on the bridge only: its IPv6 gateway, link-local and DHCPv6 sockets count as the bridge', () => {
    const gw = ['192.168.100.1', 'fd00:5e1f:7e57:1::1'];
    const at = (local: string) => boundToBridge({ proto: 'udp', local, process: 'dnsmasq' }, 'virbr10', gw);
    expect(at('[fd00:5e1f:7e57:1::1]:53')).toBe(true);
    expect(at('[fe80::5054:ff:fe7e:27af]%virbr10:53')).toBe(true);
    expect(at('[::]%virbr10:547')).toBe(true);
    expect(at('192.168.100.1:53')).toBe(true);
    expect(at('[::]:547')).toBe(false);
    expect(at('[fd00:5e1f:7e57:1::2]:53')).toBe(false);
  });
});
