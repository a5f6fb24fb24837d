import { describe, expect, it } from 'vitest';
import { isUnresolvedIpv6, resolveIpv6 } from '../../src/config/network-ipv6.js';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { validateNetworks } from '../../src/config/validate.js';
import { parseIPv6 } from '../../src/net/ipv6.js';
import { network as networkSchema } from '../../src/state/schema.js';

function parse(text: string) {
  const p = new Problems('config.toml');
  const cfg = parseMainConfig(text, p);
  const lines = [...p.list, ...validateNetworks('config.toml', cfg.networks)].map(
    (x) => `${x.field}${x.value === undefined ? '' : ` = ${JSON.stringify(x.value)}`}: ${x.expected}`,
  );
  return { networks: cfg.networks, problems: lines };
}
const NET = '[[network]]\nname = "n"\n';

describe('ipv6 config', () => {
  it('is off by default (the handbook network stays IPv4-only)', () => {
    expect(parse('').networks[0].ipv6).toBeNull();
    expect(parse(NET).networks[0].ipv6).toBeNull();
  });

  it('explicit ULA: nat66, stateless by default', () => {
    const { networks, problems } = parse(`${NET}ipv6 = "fd00:1:2:3:0::1/64"\n`);
    expect(problems).toEqual([]);
    expect(networks[0].ipv6).toEqual({
      auto: false,
      gateway: 'fd00:1:2:3::1',
      prefix: 64,
      subnet: 'fd00:1:2:3::',
      mode: 'nat66',
      dhcpv6: 'stateless',
      dhcpStart: null,
      dhcpEnd: null,
      fixAcceptRa: false,
    });
  });

  it('a global prefix defaults to routed; ipv6_mode overrides', () => {
    expect(parse(`${NET}ipv6 = "2001:db8:1:2::1/64"\n`).networks[0].ipv6?.mode).toBe('routed');
    expect(parse(`${NET}ipv6 = "2001:db8:1:2::1/64"\nipv6_mode = "nat66"\n`).networks[0].ipv6?.mode).toBe('nat66');
    expect(parse(`${NET}ipv6 = "fd00:1:2:3::1/64"\nipv6_mode = "routed"\n`).networks[0].ipv6?.mode).toBe('routed');
  });

  it('stateful: default pool ::1000-::1fff inside the prefix, or the given one', () => {
    const a = parse(`${NET}ipv6 = "fd00:1:2:3::1/64"\ndhcpv6 = "stateful"\n`).networks[0].ipv6!;
    expect([a.dhcpStart, a.dhcpEnd]).toEqual(['fd00:1:2:3::1000', 'fd00:1:2:3::1fff']);
    const b = parse(`${NET}ipv6 = "fd00:1:2:3::1/64"\ndhcpv6 = "stateful"\ndhcpv6_range = "fd00:1:2:3::100 - ::1ff"\n`).networks[0].ipv6!;
    expect([b.dhcpStart, b.dhcpEnd]).toEqual(['fd00:1:2:3::100', 'fd00:1:2:3::1ff']);
  });

  it('auto is relative to ::/64 until resolved, then carries the prefix', () => {
    const v6 = parse(`${NET}ipv6 = "auto"\ndhcpv6 = "stateful"\n`).networks[0].ipv6!;
    expect(v6).toMatchObject({ auto: true, gateway: '::1', subnet: '::', dhcpStart: '::1000', mode: 'nat66' });
    expect(isUnresolvedIpv6(v6)).toBe(true);
    const r = resolveIpv6(v6, parseIPv6('fd12:3456:789a:1::')!);
    expect(r).toMatchObject({ gateway: 'fd12:3456:789a:1::1', subnet: 'fd12:3456:789a:1::', dhcpStart: 'fd12:3456:789a:1::1000', dhcpEnd: 'fd12:3456:789a:1::1fff' });
    expect(isUnresolvedIpv6(r)).toBe(false);
    expect(networkSchema(JSON.parse(JSON.stringify({ ...parse(NET).networks[0], ipv6: r })), '').ipv6).toEqual(r);
  });

  it.each([
    ['ipv6 = "fd00:1:2:3::1/48"', /ipv6 = "fd00:1:2:3::1\/48": expected a \/64 prefix/],
    ['ipv6 = "fd00:1:2:3::/64"', /not the prefix itself/],
    ['ipv6 = "fe80::1/64"', /unique local .* or global unicast/],
    ['ipv6 = "yes"', /expected "auto" or the bridge's IPv6 address/],
    ['ipv6 = true', /expected "auto"/],
    ['ipv6 = "auto"\nipv6_mode = "nat"', /ipv6_mode = "nat": expected "nat66" or "routed"/],
    ['ipv6 = "auto"\ndhcpv6 = "yes"', /dhcpv6 = "yes": expected "stateless" or "stateful"/],
    ['ipv6 = "auto"\ndhcpv6_range = "::10-::20"', /dhcpv6_range = "::10-::20": expected only with dhcpv6 = "stateful"/],
    ['ipv6 = "auto"\ndhcpv6 = "stateful"\ndhcpv6_range = "fd00::10-fd00::20"', /interface identifiers/],
    ['ipv6 = "fd00:1:2:3::1/64"\ndhcpv6 = "stateful"\ndhcpv6_range = "fd00:9::10-fd00:9::20"', /inside fd00:1:2:3::\/64/],
    ['ipv6 = "fd00:1:2:3::1/64"\ndhcpv6 = "stateful"\ndhcpv6_range = "::0-::20"', /excludes fd00:1:2:3:: /],
    ['ipv6 = "fd00:1:2:3::1/64"\ndhcpv6 = "stateful"\ndhcpv6_range = "::20-::10"', /FIRST <= LAST/],
    ['ipv6 = "auto"\nipv6_fix_accept_ra = "yes"', /ipv6_fix_accept_ra = "yes": expected true or false/],
    ['dhcpv6 = "stateful"', /network\[0\]\.dhcpv6 = "stateful": expected only together with ipv6/],
  ])('%s → one line naming field, value, expectation', (extra, expected) => {
    const { networks, problems } = parse(`${NET}${extra}\n`);
    expect(networks).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it('overlapping explicit prefixes of two networks are refused', () => {
    const two = `${NET}ipv6 = "fd00:1:2:3::1/64"\n[[network]]\nname = "m"\nbridge = "virbr11"\nmac = "52:54:00:00:00:02"\naddress = "192.168.101.1/24"\nipv6 = "fd00:1:2:3::2/64"\n`;
    expect(parse(two).problems).toEqual([
      'network[1].ipv6 = "fd00:1:2:3::2/64": expected a prefix that does not overlap network[0] (n, fd00:1:2:3::/64)',
    ]);
  });

  it('the applied record schema rejects a tampered ipv6 side', () => {
    const base = { ...parse(NET).networks[0] };
    const good = resolveIpv6(parse(`${NET}ipv6 = "auto"\n`).networks[0].ipv6!, parseIPv6('fd12::')!);
    expect(() => networkSchema({ ...base, ipv6: { ...good, gateway: 'fd99::1' } }, '.network')).toThrow(/ipv6.gateway: expected an address inside/);
    expect(() => networkSchema({ ...base, ipv6: { ...good, prefix: 48 } }, '.network')).toThrow(/ipv6.prefix/);
    expect(() => networkSchema({ ...base, ipv6: { ...good, gateway: 'FD12::1' } }, '.network')).toThrow(/RFC 5952/);
    expect(networkSchema({ ...base, ipv6: undefined }, '').ipv6).toBeNull();
  });
});
