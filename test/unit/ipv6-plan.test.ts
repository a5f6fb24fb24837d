import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { AppliedRecord } from '../../src/model/applied.js';
import type { Network } from '../../src/model/types.js';
import { parseCidr6 } from '../../src/net/ipv6.js';
import type { Ipv6Observation } from '../../src/observe/ipv6.js';
import { parseRaRouteDevs } from '../../src/observe/ipv6.js';
import { parseIpAddrJson, type LinkState } from '../../src/observe/links.js';
import { chooseUlaPrefix, formatPrefix, routedPrefixes, ulaCandidate } from '../../src/plan/ipv6-prefix.js';
import { nftDrift } from '../../src/plan/firewall-drift.js';
import type { DesiredNetwork } from '../../src/plan/plan-network.js';
import { planTeardown } from '../../src/plan/plan-teardown.js';
import { planUp, type UpObservation } from '../../src/plan/plan-up.js';
import { preflightError, preflightProblems } from '../../src/plan/preflight.js';
import { describeStep, type Step } from '../../src/plan/steps.js';

const netOf = (extra: string) =>
  parseMainConfig(`[[network]]\nname = "n"\nfirewall = "nftables"\nadopt = true\n${extra}`, new Problems('f')).networks[0];
const v6net = netOf('ipv6 = "fd12:3456:789a:1::1/64"\n');
const paths = { conf: '/c', pid: '/p', hosts: '/h', leases: '/l' };
const desired = (net: Network): DesiredNetwork => ({ net, backend: 'nftables', iptablesVariant: null, paths, hostsText: '' });
const bridge = (net: Network, addresses: string[]): LinkState => ({ name: net.bridge, kind: 'bridge', mac: net.mac, up: true, master: null, addresses, stp: false, forwardDelay: 0 });
const v6obs = (o: Partial<Ipv6Observation> = {}): Ipv6Observation => ({ kernel: true, forwarding: true, bridge: null, raInterfaces: [], ...o });

function observed(net: Network, o: { links?: LinkState[]; ipv6?: Ipv6Observation; record?: AppliedRecord | null } = {}): UpObservation {
  return {
    links: new Map((o.links ?? []).map((l) => [l.name, l])),
    forwarding: true,
    drift: nftDrift(net, null),
    confText: null,
    hostsText: null,
    dnsmasqPid: null,
    record: o.record ?? null,
    ...(o.ipv6 ? { ipv6: o.ipv6 } : {}),
    oldFirewalls: [],
    iptablesNft: null,
    others: [],
  };
}
const lines = (steps: Step[]) => steps.map(describeStep);

describe('auto prefix (pure)', () => {
  it('derives fdXX:XXXX:XXXX:1::/64 from the seed, the same each time', () => {
    const a = ulaCandidate('seed', 0);
    expect(formatPrefix(a)).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:1::\/64$/);
    expect(ulaCandidate('seed', 0)).toBe(a);
    expect(ulaCandidate('seed', 1)).not.toBe(a);
  });

  it('skips a candidate a host route (or another network) overlaps', () => {
    const first = ulaCandidate('s', 0);
    expect(chooseUlaPrefix('s', [])).toBe(first);
    const covering = parseCidr6(`${formatPrefix(first).replace(/:1::\/64$/, '::')}/48`)!;
    expect(chooseUlaPrefix('s', [covering])).toBe(ulaCandidate('s', 1));
  });

  it('a route overlaps unless it is default, link-local, multicast or our own bridge', () => {
    const routes = [
      { dst: 'default', dev: 'eth0' },
      { dst: 'fe80::/64', dev: 'eth0' },
      { dst: 'ff00::/8', dev: 'eth0', type: 'multicast' },
      { dst: 'fd00::/8', dev: 'wg0' },
      { dst: 'fd12::/64', dev: 'virbr10' },
      { dst: 'fd99::5', dev: 'lo', type: 'local' },
    ];
    expect(routedPrefixes(routes, 'virbr10').map((c) => `${c.prefix}`)).toEqual(['8', '128']);
  });

  it('RA-learned route devices: valid interface names only', () => {
    expect(parseRaRouteDevs('[{"dst":"default","dev":"eth0"},{"dst":"2001:db8::/64","dev":"eth0"},{"dev":"../x"},{"dev":"wlan0"}]')).toEqual(['eth0', 'wlan0']);
    expect(parseRaRouteDevs('not json')).toEqual([]);
  });

  it('ip -j addr: global IPv6 addresses join the IPv4 ones, link-local ones do not', () => {
    const links = parseIpAddrJson(
      JSON.stringify([
        {
          ifname: 'br0',
          addr_info: [
            { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
            { family: 'inet6', local: 'fd00::1', prefixlen: 64, scope: 'global' },
            { family: 'inet', local: '10.0.0.1', prefixlen: 24, scope: 'global' },
          ],
        },
      ]),
    );
    expect(links.get('br0')?.addresses).toEqual(['10.0.0.1/24', 'fd00::1/64']);
  });
});

describe('the bridge IPv6 side in the plan (pure)', () => {
  it('a new bridge opens after its IPv6 sysctls, with the running VMs\' taps already its ports', () => {
    const o = observed(v6net, { links: [{ name: 'vnet3', kind: 'tun', mac: 'fe:54:00:aa:bb:01', up: true, master: null, addresses: [] }], ipv6: v6obs() });
    const plan = planUp({ ...desired(v6net), taps: [{ name: 'vnet3', mac: '52:54:00:aa:bb:01' }] }, o);
    const l = lines(plan.steps);
    const open = l.findIndex((x) => x.includes('link set virbr10 up'));
    const lastSysctl = l.map((x) => x.startsWith('IPv6 setting of bridge')).lastIndexOf(true);
    const join = l.findIndex((x) => x.includes('link set vnet3 master virbr10'));
    expect(lastSysctl).toBeGreaterThan(0);
    expect(open).toBeGreaterThan(lastSysctl);
    expect(join).toBeGreaterThanOrEqual(0);
    expect(join).toBeLessThan(open);
    expect(l[open]).toBe('IPv6 address of bridge virbr10, then open it: ip -batch [addr add fd12:3456:789a:1::1/64 dev virbr10 nodad; link set virbr10 up]');
    // an existing bridge that is down but has our address: just opened after the sysctls
    const down = { ...bridge(v6net, ['fd12:3456:789a:1::1/64']), up: false };
    const plan2 = planUp(desired(v6net), observed(v6net, { links: [down], ipv6: v6obs({ bridge: { accept_dad: '0', accept_ra: '1', autoconf: '0', disable_ipv6: '0' } }) }));
    // what preflight checks other interfaces' addresses for
    expect([plan.addsAddress, plan.addsAddress6, plan2.addsAddress, plan2.addsAddress6]).toEqual([true, true, true, false]);
    const l2 = lines(plan2.steps);
    expect(l2.slice(0, 3)).toEqual([
      expect.stringMatching(/^repair bridge virbr10: ip -batch \[addr add 192\.168\.100\.1\/24 dev virbr10\]$/),
      'IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.accept_ra=0',
      'open bridge virbr10: ip -batch [link set virbr10 up]',
    ]);
  });

  it('an adopted bridge: only the sysctls that differ are set, their old values recorded; down puts them back', () => {
    const current = { accept_dad: '1', accept_ra: '0', autoconf: '1', disable_ipv6: '1' };
    const plan = planUp(desired(v6net), observed(v6net, { links: [bridge(v6net, ['192.168.100.1/24'])], ipv6: v6obs({ bridge: current }) }));
    const l = lines(plan.steps);
    expect(l).toEqual([
      'IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.accept_dad=0',
      'IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.autoconf=0',
      'IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.disable_ipv6=0',
      'IPv6 address of bridge virbr10: ip -batch [addr add fd12:3456:789a:1::1/64 dev virbr10 nodad]',
      expect.stringMatching(/^create dummy/),
      expect.stringMatching(/^apply nftables rules/),
      expect.stringMatching(/^dnsmasq config/),
      expect.stringMatching(/^reservations/),
      expect.stringMatching(/^start dnsmasq/),
    ]);
    const br = plan.target.links.bridges[0];
    // the IPv4 address was there before (the admin's): only ours is recorded
    expect(br).toMatchObject({ created: false, addresses: ['fd12:3456:789a:1::1/64'], sysctls6: { accept_dad: '1', autoconf: '1', disable_ipv6: '1' } });

    const teardown = (bridgeSysctls6?: Map<string, Record<string, string>>) =>
      planTeardown(plan.target, paths, {
        links: new Map([[v6net.bridge, bridge(v6net, ['192.168.100.1/24', 'fd12:3456:789a:1::1/64'])]]),
        firewalls: [],
        dnsmasqPids: [],
        ...(bridgeSysctls6 ? { bridgeSysctls6 } : {}),
      });
    const t = teardown(new Map([[v6net.bridge, { accept_dad: '0', autoconf: '0', disable_ipv6: '0' }]]));
    expect(lines(t.steps).filter((s) => !s.includes('remove /'))).toEqual([
      'remove links of n: ip -batch [addr del fd12:3456:789a:1::1/64 dev virbr10]',
      'put back IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.accept_dad=1',
      'put back IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.autoconf=1',
      'put back IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.disable_ipv6=1',
    ]);
    expect(t.steps.filter((s) => s.kind === 'sysctl').every((s) => s.kind === 'sysctl' && s.ifExists && s.was === '0')).toBe(true);
  });

  it('down puts back only the saved settings that exist now and differ (none when the bridge has no IPv6 conf)', () => {
    const rec: AppliedRecord = {
      network: v6net,
      links: { bridges: [{ name: v6net.bridge, created: false, addresses: ['fd12:3456:789a:1::1/64'], sysctls6: { accept_dad: '1', autoconf: '1', disable_ipv6: '1' } }], dummies: [] },
      firewalls: [],
      dnsmasq: true,
      dummyUnsupported: 'x',
      appliedAt: '',
    };
    const sysctlsOf = (now?: Record<string, string>) =>
      lines(
        planTeardown(rec, paths, {
          links: new Map([[v6net.bridge, bridge(v6net, [])]]),
          firewalls: [],
          dnsmasqPids: [],
          ...(now ? { bridgeSysctls6: new Map([[v6net.bridge, now]]) } : {}),
        }).steps.filter((s) => s.kind === 'sysctl'),
      );
    // IPv6 disabled on it (no conf dir) or not looked at: nothing to write, nothing to fail on
    expect(sysctlsOf()).toEqual([]);
    expect(sysctlsOf({})).toEqual([]);
    // the admin put autoconf back already; accept_dad is unreadable
    expect(sysctlsOf({ autoconf: '1', disable_ipv6: '0' })).toEqual(['put back IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.disable_ipv6=1']);
  });

  it('ipv6 turned off on an adopted bridge: our address goes and the settings are put back', () => {
    const v4net = { ...v6net, ipv6: null };
    const rec: AppliedRecord = {
      network: v6net,
      links: { bridges: [{ name: v6net.bridge, created: false, addresses: ['192.168.100.1/24', 'fd12:3456:789a:1::1/64'], sysctls6: { accept_ra: '1' } }], dummies: [] },
      firewalls: [{ backend: 'nftables', iptablesVariant: null, bridge: v6net.bridge }],
      dnsmasq: true,
      dummyUnsupported: 'x',
      appliedAt: '',
    };
    const all0 = { accept_dad: '0', accept_ra: '0', autoconf: '0', disable_ipv6: '0' };
    const plan = planUp(desired(v4net), observed(v4net, { links: [bridge(v4net, rec.links.bridges[0].addresses)], ipv6: v6obs({ bridge: all0 }), record: rec }));
    expect(lines(plan.steps).slice(0, 2)).toEqual([
      'put back IPv6 setting of bridge virbr10: net.ipv6.conf.virbr10.accept_ra=1',
      'IPv6 address of bridge virbr10: ip -batch [addr del fd12:3456:789a:1::1/64 dev virbr10]',
    ]);
    expect(plan.target.links.bridges[0].sysctls6).toBeUndefined();
    expect(plan.target.links.bridges[0].addresses).toEqual(['192.168.100.1/24']);
  });

  it('ipv6 turned off on an adopted bridge whose IPv6 conf is gone: nothing to put back (no write that would fail)', () => {
    const v4net = { ...v6net, ipv6: null };
    const rec: AppliedRecord = {
      network: v6net,
      links: { bridges: [{ name: v6net.bridge, created: false, addresses: ['192.168.100.1/24'], sysctls6: { accept_ra: '1' } }], dummies: [] },
      firewalls: [{ backend: 'nftables', iptablesVariant: null, bridge: v6net.bridge }],
      dnsmasq: true,
      dummyUnsupported: 'x',
      appliedAt: '',
    };
    for (const ipv6 of [v6obs({ bridge: null }), v6obs({ kernel: false })]) {
      const plan = planUp(desired(v4net), observed(v4net, { links: [bridge(v4net, ['192.168.100.1/24'])], ipv6, record: rec }));
      expect(plan.steps.filter((s) => s.kind === 'sysctl')).toEqual([]);
    }
  });

  it('IPv6 forwarding off: enabled (a host change), after accept_ra=2 on RA interfaces with ipv6_fix_accept_ra', () => {
    const fixing = netOf('ipv6 = "fd12:3456:789a:1::1/64"\nipv6_fix_accept_ra = true\n');
    const ra = v6obs({ forwarding: false, raInterfaces: [{ name: 'eth0', acceptRa: '1' }, { name: 'eth1', acceptRa: '2' }] });
    const steps = planUp(desired(fixing), observed(fixing, { ipv6: ra })).steps.filter((s) => s.kind === 'sysctl' && s.host);
    expect(steps).toEqual([
      expect.objectContaining({ key: 'net/ipv6/conf/eth0/accept_ra', value: '2', was: '1', host: 'accept_ra' }),
      expect.objectContaining({ key: 'net/ipv6/conf/all/forwarding', value: '1', host: 'forwarding6' }),
    ]);
  });
});

describe('IPv6 preflight (pure)', () => {
  const forwarding6: Step = { kind: 'sysctl', why: 'enable IPv6 forwarding', key: 'net/ipv6/conf/all/forwarding', value: '1', was: '0', host: 'forwarding6' };
  const base = { net: v6net, links: new Map(), missingTools: [], records: [], previous: null, libvirtBridges: () => new Map(), addsAddress: false, addsAddress6: false };

  it('refuses to enable forwarding while an interface learns routes from RAs with accept_ra != 2, naming it and both fixes', () => {
    const p = preflightProblems({ ...base, steps: [forwarding6], ipv6: v6obs({ forwarding: false, raInterfaces: [{ name: 'eth0', acceptRa: '1' }, { name: 'eth1', acceptRa: '2' }] }) });
    expect(p.conflicts).toEqual([
      'network n: eth0 has routes learned from router advertisements and accept_ra=1; enabling IPv6 forwarding would drop them. ' +
        'Run sysctl net.ipv6.conf.eth0.accept_ra=2 (and make it persistent), or set ipv6_fix_accept_ra = true in the network',
    ]);
    expect(preflightError(p)?.exitCode).toBe(3);
    // forwarding already on (ours or the admin's): nothing to refuse
    expect(preflightProblems({ ...base, steps: [], ipv6: v6obs({ raInterfaces: [{ name: 'eth0', acceptRa: '1' }] }) }).conflicts).toEqual([]);
  });

  it('a kernel without IPv6, and another interface holding an address in the prefix', () => {
    expect(preflightProblems({ ...base, steps: [], ipv6: v6obs({ kernel: false }) }).failures[0]).toMatch(/IPv6 disabled \(no \/proc\/sys\/net\/ipv6\)/);
    const other: LinkState = { name: 'eth9', kind: 'veth', mac: '02:00:00:00:00:09', up: true, master: null, addresses: ['fd12:3456:789a:1::9/64'] };
    // only when the plan adds our IPv6 address (the LinkPlan says so, not the batch text)
    expect(preflightProblems({ ...base, steps: [], links: new Map([['eth9', other]]), ipv6: v6obs() }).conflicts).toEqual([]);
    expect(preflightProblems({ ...base, steps: [], addsAddress6: true, links: new Map([['eth9', other]]), ipv6: v6obs() }).conflicts).toEqual([
      'network n: eth9 already has fd12:3456:789a:1::9/64, which overlaps fd12:3456:789a:1::/64; remove that address or give the network another prefix (ipv6 = ...)',
    ]);
  });
});
