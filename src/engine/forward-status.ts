import type { ResolvedForward } from '../model/forward.js';
import type { Backend, Network } from '../model/types.js';
import type { ListeningSocket } from '../observe/listening.js';
import type { FirewallDrift } from '../plan/firewall-drift.js';
import { boundForwardPorts, describeBound } from '../plan/forwards.js';
import { iptablesForwardLines } from '../render/iptables.js';
import { nftForwardLines } from '../render/nft.js';

/** One forward as status shows it: host side, target, and whether its rules are in place. */
export interface ForwardStatus {
  vm: string;
  listen: string;
  proto: string;
  port: string;
  target: string;
  sources: string[];
  /** ok; missing: some of its rules are not there; bound: a host socket holds the port too. */
  state: 'ok' | 'missing' | 'bound';
  why: string | null;
}

/** The forwards of a network with their drift, and the problems they add to the network's. Pure. */
export function forwardStatus(
  net: Network,
  backend: Backend,
  forwards: ResolvedForward[],
  drift: FirewallDrift,
  sockets: ListeningSocket[],
): { forwards: ForwardStatus[]; problems: string[] } {
  const missing = new Set(drift.missing);
  const bound = new Map(boundForwardPorts(forwards, sockets).map((b) => [b.forward, b]));
  const problems: string[] = [];
  const out = forwards.map((f): ForwardStatus => {
    const lines = backend === 'nftables' ? nftForwardLines(f).map((l) => `forwards: ${l}`) : iptablesForwardLines(net, f).map((l) => `nat ${l}`);
    const gone = lines.filter((l) => missing.has(l)).length;
    const base = { vm: f.vm, listen: f.listen ?? '*', proto: f.proto, port: f.port, target: `${f.ip}:${f.toPort ?? f.port}`, sources: f.sources };
    if (gone) return { ...base, state: 'missing', why: `${gone} of its ${lines.length} rule(s) missing` };
    const b = bound.get(f);
    if (b) {
      problems.push(describeBound(b));
      return { ...base, state: 'bound', why: `host port ${b.socket.port}/${b.socket.proto} also bound by a listening socket on ${b.socket.address}` };
    }
    return { ...base, state: 'ok', why: null };
  });
  return { forwards: out, problems };
}
