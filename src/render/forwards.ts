import type { PortSegment, ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';

/**
 * One DNAT rule of a forward: its match (client, host address, port) and target, backend-neutral.
 * `listen` null: any local address of the host (addrtype / fib), the bridge's own excepted.
 */
export interface DnatRule {
  source: string | null;
  listen: string | null;
  proto: 'tcp' | 'udp';
  segment: PortSegment;
  ip: string;
}

/** Every DNAT rule of a network's forwards, in order: forward by forward, source by source. Pure. */
export function dnatRules(forwards: ResolvedForward[]): DnatRule[] {
  return forwards.flatMap((f) =>
    (f.sources.length ? f.sources : [null]).flatMap((source) =>
      f.segments.map((segment) => ({ source, listen: f.listen, proto: f.proto, segment, ip: f.ip })),
    ),
  );
}

/** Destinations never forwarded: loopback (OUTPUT from lo-only clients) and the bridge's own address. */
export function dnatExceptions(net: Pick<Network, 'gateway'>): string[] {
  return ['127.0.0.0/8', net.gateway];
}
