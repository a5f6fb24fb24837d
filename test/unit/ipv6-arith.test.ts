import { describe, expect, it } from 'vitest';
import {
  bridgeAddress6,
  hostBits6,
  interfaceId6,
  isGlobalUnicast6,
  isLinkLocal6,
  isMulticast6,
  overlaps6,
  parseCidr6,
  parseIPv6,
  prefixOf6,
  prefixText6,
} from '../../src/net/ipv6.js';

const ip = (t: string) => parseIPv6(t)!;
const cidr = (t: string) => parseCidr6(t)!;

describe('IPv6 arithmetic (net/ipv6.ts, the one home)', () => {
  it('overlaps6: one prefix contains the other, an address counting as its prefix', () => {
    expect(overlaps6(cidr('fd00:1:2:3::/64'), cidr('fd00:1::/32'))).toBe(true);
    expect(overlaps6(cidr('fd00:1::/32'), cidr('fd00:1:2:3::/64'))).toBe(true);
    expect(overlaps6(cidr('fd00:1:2:3::9/64'), cidr('fd00:1:2:3::/64'))).toBe(true);
    expect(overlaps6(cidr('fd00:1:2:3::9/128'), cidr('fd00:1:2:3::/64'))).toBe(true);
    expect(overlaps6(cidr('fd00:1:2:4::/64'), cidr('fd00:1:2:3::/64'))).toBe(false);
    expect(overlaps6(cidr('::/0'), cidr('fd00::/8'))).toBe(true);
  });
  it('host bits and the interface identifier (low 64 bits)', () => {
    expect(hostBits6(ip('fd00:1:2:3::10'), 64)).toBe(0x10n);
    expect(hostBits6(ip('fd00:1:2:3::10'), 48)).toBe(ip('0:0:0:3::10'));
    expect(hostBits6(ip('fd00::1'), 128)).toBe(0n);
    expect(interfaceId6(ip('fd00:1:2:3:a:b:c:d'))).toBe(ip('::a:b:c:d'));
    expect(interfaceId6(ip('::10'))).toBe(0x10n);
    expect(interfaceId6(ip('fd00:1:2:3::'))).toBe(0n);
  });
  it('address classes', () => {
    expect([isLinkLocal6(ip('fe80::1')), isLinkLocal6(ip('febf::1')), isLinkLocal6(ip('fec0::1')), isLinkLocal6(ip('fd00::1'))]).toEqual([true, true, false, false]);
    expect([isMulticast6(ip('ff02::1')), isMulticast6(ip('fe80::1'))]).toEqual([true, false]);
    expect([isGlobalUnicast6(ip('2001:db8::1')), isGlobalUnicast6(ip('3fff::1')), isGlobalUnicast6(ip('fd00::1'))]).toEqual([true, true, false]);
  });
  it('texts of an IPv6 side', () => {
    const v6 = { gateway: 'fd00:1:2:3::1', subnet: 'fd00:1:2:3::', prefix: 64 };
    expect(bridgeAddress6(v6)).toBe('fd00:1:2:3::1/64');
    expect(prefixText6(v6)).toBe('fd00:1:2:3::/64');
    expect(prefixOf6(v6)).toEqual({ network: ip('fd00:1:2:3::'), prefix: 64 });
  });
});
