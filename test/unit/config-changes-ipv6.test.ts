import { describe, expect, it } from 'vitest';
import { resolveIpv6 } from '../../src/config/network-ipv6.js';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { Network } from '../../src/model/types.js';
import { parseIPv6 } from '../../src/net/ipv6.js';
import { configChanges, sameIpv6 } from '../../src/plan/config-changes.js';

const netOf = (extra: string): Network => {
  const p = new Problems('f');
  const n = parseMainConfig(`[[network]]\nname = "n"\n${extra}`, p).networks[0];
  expect(p.list).toEqual([]);
  return n;
};

describe('the ipv6 side in pending config changes (pure)', () => {
  const auto = netOf('ipv6 = "auto"\ndhcpv6 = "stateful"\n');
  const applied = { ...auto, ipv6: resolveIpv6(auto.ipv6!, parseIPv6('fd12:3456:789a:1::')!) };

  it('field by field, whatever the key order', () => {
    const v6 = applied.ipv6!;
    const reordered = Object.fromEntries(Object.entries(v6).reverse()) as typeof v6;
    expect(sameIpv6(v6, reordered)).toBe(true);
    expect(configChanges(applied, { ...applied, ipv6: reordered })).toEqual([]);
    expect(configChanges(applied, { ...applied, ipv6: { ...v6, mode: 'routed' } })).toEqual(['ipv6']);
    expect(configChanges(applied, { ...applied, ipv6: null })).toEqual(['ipv6']);
    expect(sameIpv6(null, null)).toBe(true);
  });

  it('an auto side whose prefix is not resolved (its prefix file removed) is the applied auto side, not a pending change', () => {
    expect(configChanges(applied, auto)).toEqual([]);
    expect(configChanges(auto, applied)).toEqual([]);
    // but a changed pool still is
    const otherPool = netOf('ipv6 = "auto"\ndhcpv6 = "stateful"\ndhcpv6_range = "::2000-::2fff"\n');
    expect(configChanges(applied, otherPool)).toEqual(['ipv6']);
    // and an explicit prefix is not an auto one
    const explicit = netOf('ipv6 = "fd12:3456:789a:1::1/64"\ndhcpv6 = "stateful"\n');
    expect(configChanges(applied, explicit)).toEqual(['ipv6']);
  });
});
