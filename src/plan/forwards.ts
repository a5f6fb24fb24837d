import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';

/** The forwards a network renders: those whose target is its VM reservation. */
export function forwardsOf(config: { forwards?: ResolvedForward[] }, net: Pick<Network, 'name'>): ResolvedForward[] {
  return (config.forwards ?? []).filter((f) => f.network === net.name);
}
