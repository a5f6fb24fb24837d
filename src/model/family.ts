import type { Network } from './types.js';

/** An address family a network carries; each has its own iptables binary (iptables / ip6tables). */
export type Family = 'ipv4' | 'ipv6';

export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

/** The address families a network uses: the one place that decides it. */
export function familiesOf(net: Pick<Network, 'ipv6'>): Family[] {
  return net.ipv6 ? ['ipv4', 'ipv6'] : ['ipv4'];
}

/** `iptables` or `ip6tables`: the binary prefix of a family. */
export const xtablesOf = (family: Family) => (family === 'ipv6' ? 'ip6tables' : 'iptables');

/** A family's binary of one iptables variant: `ip6tables-nft-restore`, `iptables-legacy-save`. */
export const xtablesTool = (family: Family, variant: 'nft' | 'legacy', tool: 'save' | 'restore') => `${xtablesOf(family)}-${variant}-${tool}`;
