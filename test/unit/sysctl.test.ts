import { describe, expect, it } from 'vitest';
import { ipv6ConfIface, ipv6ConfKey, sysctlName } from '../../src/sys/sysctl.js';

describe('sysctl keys (sys/sysctl.ts)', () => {
  it('ipv6ConfKey: a valid interface name and a known key only', () => {
    expect(ipv6ConfKey('virbr10', 'accept_ra')).toBe('net/ipv6/conf/virbr10/accept_ra');
    expect(ipv6ConfKey('all', 'forwarding')).toBe('net/ipv6/conf/all/forwarding');
    for (const [iface, key] of [
      ['..', 'accept_ra'],
      ['a/b', 'accept_ra'],
      ['', 'accept_ra'],
      ['virbr10', '../../../kernel/core_pattern'],
      ['virbr10', 'mtu'],
    ]) {
      expect(() => ipv6ConfKey(iface, key), `${iface} ${key}`).toThrow(/refusing IPv6 setting/);
    }
  });
  it('ipv6ConfIface reads the interface back; other keys are null', () => {
    expect(ipv6ConfIface(ipv6ConfKey('eth0.100', 'accept_ra'))).toBe('eth0.100');
    expect(ipv6ConfIface('net/ipv4/ip_forward')).toBeNull();
    expect(ipv6ConfIface('net/ipv6/conf/eth0/mtu')).toBeNull();
    expect(ipv6ConfIface('net/ipv6/conf/../accept_ra')).toBeNull();
  });
  it('sysctlName: "." between parts, a "." inside an interface name as "/"', () => {
    expect(sysctlName(ipv6ConfKey('eth0.100', 'accept_ra'))).toBe('net.ipv6.conf.eth0/100.accept_ra');
    expect(sysctlName('net/ipv4/ip_forward')).toBe('net.ipv4.ip_forward');
  });
});
