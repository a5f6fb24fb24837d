import { isUnresolvedIpv6, resolveIpv6 } from '../config/network-ipv6.js';
import type { Ipv6Network, Network } from '../model/types.js';
import { parseIPv6 } from '../net/ipv6.js';

/**
 * The config key each Network field comes from; null for those read from the config whenever
 * they are used (nothing on the host to apply), so a change of them leaves nothing pending.
 */
const CONFIG_KEY: Record<keyof Network, string | null> = {
  name: 'name',
  bridge: 'bridge',
  mac: 'mac',
  gateway: 'address',
  prefix: 'address',
  subnet: 'address',
  dummy: 'dummy',
  stp: 'stp',
  forwardDelay: 'forward_delay',
  firewall: 'firewall',
  outbound: 'outbound',
  dhcpStart: 'dhcp_range',
  dhcpEnd: 'dhcp_range',
  leaseTime: 'lease_time',
  domain: 'domain',
  autostart: null,
  downWhenIdle: null,
  adopt: null,
  ipv6: 'ipv6',
};

/** Every field of Ipv6Network (a new one must be added here to be compared). */
const IPV6_FIELDS: Record<keyof Ipv6Network, true> = {
  auto: true,
  gateway: true,
  prefix: true,
  subnet: true,
  mode: true,
  dhcpv6: true,
  dhcpStart: true,
  dhcpEnd: true,
  fixAcceptRa: true,
};

/**
 * Two IPv6 sides field by field. An `auto` one whose prefix is not resolved (its prefix file
 * removed, or not read) stands for the applied auto one with that one's prefix: not a change.
 */
export function sameIpv6(a: Ipv6Network | null, b: Ipv6Network | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.auto && b.auto && isUnresolvedIpv6(a) !== isUnresolvedIpv6(b)) {
    const [resolved, unresolved] = isUnresolvedIpv6(a) ? [b, a] : [a, b];
    const prefix = parseIPv6(resolved.subnet);
    return prefix !== null && sameIpv6(resolved, resolveIpv6(unresolved, prefix));
  }
  return (Object.keys(IPV6_FIELDS) as (keyof Ipv6Network)[]).every((k) => a[k] === b[k]);
}

/** Scalars by value; the ipv6 side field by field. */
const sameField = (field: keyof Network, a: Network, b: Network) => (field === 'ipv6' ? sameIpv6(a.ipv6, b.ipv6) : a[field] === b[field]);

/** Each Network field whose value differs between the network as applied and as configured now. Pure. */
export function fieldChanges(applied: Network, configured: Network): { field: keyof Network; from: unknown; to: unknown }[] {
  return (Object.keys(CONFIG_KEY) as (keyof Network)[])
    .filter((field) => !sameField(field, applied, configured))
    .map((field) => ({ field, from: applied[field], to: configured[field] }));
}

/** The config keys whose value differs between the network as applied and as configured now. Pure. */
export function configChanges(applied: Network, configured: Network): string[] {
  const keys = fieldChanges(applied, configured).flatMap((c) => CONFIG_KEY[c.field] ?? []);
  return [...new Set(keys)];
}
