/** Pure IPv6 helpers (addresses are unsigned 128-bit bigints; text is RFC 5952 canonical on output). */

const HEXTET = /^[0-9a-fA-F]{1,4}$/;
const ALL = (1n << 128n) - 1n;

/** "fd00:1::1" (also with an embedded dotted IPv4 tail) → bigint; null when not an IPv6 address. No zone ids. */
export function parseIPv6(text: string): bigint | null {
  if (text.length === 0 || text.length > 45 || text.includes('%')) return null;
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = text.slice(lastColon + 1).split('.');
    if (v4.length !== 4 || v4.some((o) => !/^(0|[1-9]\d{0,2})$/.test(o) || +o > 255)) return null;
    const hex = (a: string, b: string) => ((+a << 8) | +b).toString(16);
    head = `${text.slice(0, lastColon + 1)}${hex(v4[0], v4[1])}:${hex(v4[2], v4[3])}`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const left = part(halves[0]);
  const right = halves.length === 2 ? part(halves[1]) : [];
  if ([...left, ...right].some((h) => !HEXTET.test(h))) return null;
  const given = left.length + right.length;
  if (halves.length === 2 ? given > 7 : given !== 8) return null;
  const words = [...left.map((h) => parseInt(h, 16)), ...Array(8 - given).fill(0), ...right.map((h) => parseInt(h, 16))];
  if (halves.length === 1 && words.length !== 8) return null;
  return words.reduce((n, w) => (n << 16n) | BigInt(w), 0n);
}

/** bigint → RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero words as "::". */
export function formatIPv6(n: bigint): string {
  const words = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

export function prefixMask6(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
}

export interface Cidr6 {
  address: bigint;
  prefix: number;
  network: bigint;
}

/** "fd00:1:2:3::1/64" → address and network. */
export function parseCidr6(text: string): Cidr6 | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return null;
  const address = parseIPv6(m[1]);
  const prefix = Number(m[2]);
  if (address === null || prefix > 128 || String(prefix) !== m[2]) return null;
  return { address, prefix, network: address & prefixMask6(prefix) };
}

export function inSubnet6(ip: bigint, c: { network: bigint; prefix: number }): boolean {
  return (ip & prefixMask6(c.prefix)) === c.network;
}

/** fc00::/7: unique local addresses (RFC 4193). */
export const isUniqueLocal = (ip: bigint) => ip >> 121n === 0x7en;

/** 2000::/3: global unicast addresses. */
export const isGlobalUnicast6 = (ip: bigint) => ip >> 125n === 1n;
/** fe80::/10: link-local unicast. */
export const isLinkLocal6 = (ip: bigint) => ip >> 118n === 0x3fan;
/** ff00::/8: multicast. */
export const isMulticast6 = (ip: bigint) => ip >> 120n === 0xffn;

/** Two prefixes share an address (one contains the other). An address with its prefix length counts as its prefix. */
export function overlaps6(a: { network: bigint; prefix: number }, b: { network: bigint; prefix: number }): boolean {
  return inSubnet6(a.network, b) || inSubnet6(b.network, a);
}

/** The bits of ip after a prefix of this length. */
export function hostBits6(ip: bigint, prefix: number): bigint {
  return ip & (ALL ^ prefixMask6(prefix));
}

/** The length of an interface identifier's prefix (RFC 4291 2.5.1; SLAAC needs exactly it). */
export const INTERFACE_ID_PREFIX = 64;

/**
 * The interface identifier of an address (its low 64 bits). An address that is its own interface
 * identifier ("::10") stands for that identifier behind a network's prefix.
 */
export const interfaceId6 = (ip: bigint) => hostBits6(ip, INTERFACE_ID_PREFIX);

/** "fd00:1:2:3::1/64": the bridge's address of an IPv6 side, as `ip` prints it. */
export const bridgeAddress6 = (v6: { gateway: string; prefix: number }) => `${v6.gateway}/${v6.prefix}`;
/** "fd00:1:2:3::/64": the prefix of an IPv6 side. */
export const prefixText6 = (v6: { subnet: string; prefix: number }) => `${v6.subnet}/${v6.prefix}`;
/** The prefix of an IPv6 side as numbers, for inSubnet6/overlaps6 (its subnet is validated text). */
export const prefixOf6 = (v6: { subnet: string; prefix: number }) => ({ network: parseIPv6(v6.subnet)!, prefix: v6.prefix });
