import type { Network } from '../model/types.js';

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

/** Scalars by value; the ipv6 object by its content. */
const sameValue = (a: unknown, b: unknown) => a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

/** Each Network field whose value differs between the network as applied and as configured now. Pure. */
export function fieldChanges(applied: Network, configured: Network): { field: keyof Network; from: unknown; to: unknown }[] {
  return (Object.keys(CONFIG_KEY) as (keyof Network)[])
    .filter((field) => !sameValue(applied[field], configured[field]))
    .map((field) => ({ field, from: applied[field], to: configured[field] }));
}

/** The config keys whose value differs between the network as applied and as configured now. Pure. */
export function configChanges(applied: Network, configured: Network): string[] {
  const keys = fieldChanges(applied, configured).flatMap((c) => CONFIG_KEY[c.field] ?? []);
  return [...new Set(keys)];
}
