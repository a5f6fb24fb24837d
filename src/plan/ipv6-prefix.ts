/** Choosing a network's `ipv6 = "auto"` prefix (RFC 4193): pure. */
import { createRequire } from 'node:module';
import { type Cidr6, formatIPv6, isLinkLocal6, isMulticast6, overlaps6, parseCidr6 } from '../net/ipv6.js';

type Crypto = typeof import('node:crypto');
let crypto: Crypto | undefined;
/** node:crypto costs ~5 ms to load: only when a prefix is generated, never on every `up` that imports this file. */
function loadCrypto(): Crypto {
  crypto ??= (process.getBuiltinModule?.('node:crypto') as Crypto | undefined) ?? (createRequire(import.meta.url)('node:crypto') as Crypto);
  return crypto;
}

/** The subnet ID of a generated prefix: fdXX:XXXX:XXXX:1::/64. */
const SUBNET_ID = 1n;
const MAX_ATTEMPTS = 64;

/**
 * The attempt-th candidate for a seed: fd + a 40-bit global ID from SHA-256(seed, attempt) + subnet 1.
 * The seed holds the host's machine-id (random per host, RFC 4193 3.2.2 asks for a pseudo-random
 * ID), so the same host derives the same prefix again (plan shows what up will take).
 */
export function ulaCandidate(seed: string, attempt: number): bigint {
  const h = loadCrypto().createHash('sha256').update(`${seed}\0${attempt}`).digest();
  const globalId = h.readUIntBE(0, 5);
  return (0xfdn << 120n) | (BigInt(globalId) << 80n) | (SUBNET_ID << 64n);
}

/** The first candidate /64 overlapping none of `taken` (host routes, other networks' prefixes), or null. */
export function chooseUlaPrefix(seed: string, taken: Cidr6[]): bigint | null {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const net = ulaCandidate(seed, i);
    const c = { address: net, prefix: 64, network: net };
    if (!taken.some((t) => overlaps6(c, t))) return net;
  }
  return null;
}

/** An `ip -j -6 route show table all` entry. */
export interface Route6 {
  dst: string;
  dev?: string;
  protocol?: string;
  type?: string;
}

/**
 * The unicast destinations of `ip -j -6 route` a new prefix must not overlap: not "default"
 * (it covers everything), not link-local or multicast, not routes of `ownBridge` (our own
 * prefix route). Pure.
 */
export function routedPrefixes(routes: Route6[], ownBridge: string): Cidr6[] {
  const out: Cidr6[] = [];
  for (const r of routes) {
    if (r.dst === 'default' || r.dev === ownBridge || (r.type && r.type !== 'unicast' && r.type !== 'local')) continue;
    const c = parseCidr6(r.dst.includes('/') ? r.dst : `${r.dst}/128`);
    if (!c) continue;
    if (isLinkLocal6(c.network) || isMulticast6(c.network) || c.prefix === 0) continue;
    out.push(c);
  }
  return out;
}

export const formatPrefix = (net: bigint) => `${formatIPv6(net)}/64`;
