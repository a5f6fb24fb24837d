import type { ResolvedForward } from '../model/forward.js';
import type { ListeningSocket } from '../observe/listening.js';
import type { Network } from '../model/types.js';

/** The forwards a network renders: those whose target is its VM reservation. */
export function forwardsOf(config: { forwards?: ResolvedForward[] }, net: Pick<Network, 'name'>): ResolvedForward[] {
  return (config.forwards ?? []).filter((f) => f.network === net.name);
}

/**
 * Host ports of forwards that a listening socket of the host already holds: traffic to them
 * goes to the VM, not to that socket (a warning in `up`, a problem in `status`). Pure.
 */
export function boundForwardPorts(forwards: ResolvedForward[], sockets: ListeningSocket[]): { forward: ResolvedForward; socket: ListeningSocket }[] {
  const out: { forward: ResolvedForward; socket: ListeningSocket }[] = [];
  for (const f of forwards) {
    const hit = sockets.find(
      (s) =>
        s.proto === f.proto &&
        (f.listen === null || s.address === '0.0.0.0' || s.address === f.listen) &&
        !s.address.startsWith('127.') &&
        f.segments.some((g) => g.first <= s.port && s.port <= g.last),
    );
    if (hit) out.push({ forward: f, socket: hit });
  }
  return out;
}

export function describeBound(b: { forward: ResolvedForward; socket: ListeningSocket }): string {
  const f = b.forward;
  return `forward ${f.listen ?? '*'}:${f.port}/${f.proto} -> ${f.vm}: host port ${b.socket.port}/${b.socket.proto} is also bound by a listening socket on ${b.socket.address} (what the forward matches goes to the VM, not to it)`;
}
