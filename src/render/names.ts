import type { Network } from '../model/types.js';

/** Our iptables chains for a network: per bridge, so several networks coexist (names ≤ 28 chars: 12 + a 15-char bridge). */
export function iptablesChains(net: Pick<Network, 'bridge'>) {
  return {
    /** Port forwards: jumped to from nat PREROUTING and nat OUTPUT. */
    dnat: `NATNET-DNAT-${net.bridge}`,
    post: `NATNET-POST-${net.bridge}`,
    fwd: `NATNET-FWD-${net.bridge}`,
    inp: `NATNET-INP-${net.bridge}`,
  };
}

/** Our nft table for a network: the same name in family ip and (with IPv6) family ip6. */
export function nftTable(net: Pick<Network, 'bridge'>): string {
  return `natnet_${net.bridge.replace(/[^A-Za-z0-9_]/g, '_')}`;
}
