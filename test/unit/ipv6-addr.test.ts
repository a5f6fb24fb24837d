import { expect, it } from 'vitest';
import { formatIPv6, parseCidr6, parseIPv6, isUniqueLocal } from '../../src/net/ipv6.js';
it('x', () => {
  for (const [a, b] of [['fd00:1:2:3::1','fd00:1:2:3::1'],['::','::'],['::1','::1'],['FD00:0:0:0:0:0:0:1','fd00::1'],['1:0:0:1:0:0:0:1','1:0:0:1::1'],['1:0:1:0:1:0:1:0','1:0:1:0:1:0:1:0'],['::ffff:192.168.1.1','::ffff:c0a8:101'],['2001:db8::','2001:db8::'],['1:2:3:4:5:6:7::','1:2:3:4:5:6:7:0']])
    expect(formatIPv6(parseIPv6(a)!)).toBe(b);
  for (const bad of ['', ':::', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'fe80::1%eth0', '1.2.3.4', '::1.2.3'])
    expect(parseIPv6(bad), bad).toBeNull();
  expect(formatIPv6(parseCidr6('fd00:1:2:3::1/64')!.network)).toBe('fd00:1:2:3::');
  expect(isUniqueLocal(parseIPv6('fd12::1')!)).toBe(true);
  expect(isUniqueLocal(parseIPv6('2001::1')!)).toBe(false);
});
