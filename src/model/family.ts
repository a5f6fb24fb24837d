import type { Network } from './types.js';

/** An address family a network carries; each has its own iptables binary (iptables / ip6tables). */
export type Family = 'ipv4' | 'ipv6';

export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

/**
 * The address families a network uses: the one place that decides it. Today every network is
 * IPv4 only; when Network gets its IPv6 settings (issue 11), add 'ipv6' here when they are set.
 */
export function familiesOf(_net: Pick<Network, 'name'>): Family[] {
  return ['ipv4'];
}

/** `iptables` or `ip6tables`: the binary prefix of a family. */
export const xtablesOf = (family: Family) => (family === 'ipv6' ? 'ip6tables' : 'iptables');
