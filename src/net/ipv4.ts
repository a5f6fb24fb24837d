/** Pure IPv4 helpers (numbers are unsigned 32-bit). */

const DOTTED = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** Dotted quad → number; no leading zeros (they mean octal to some tools), each octet ≤ 255. */
export function parseIPv4(text: string): number | null {
  const m = DOTTED.exec(text);
  if (!m) return null;
  const a = +m[1];
  const b = +m[2];
  const c = +m[3];
  const d = +m[4];
  if (a > 255 || b > 255 || c > 255 || d > 255) return null;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export interface Cidr {
  address: number;
  prefix: number;
  network: number;
  broadcast: number;
}

/** "192.168.100.1/24" → address, network, broadcast. */
export function parseCidr(text: string): Cidr | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return null;
  const address = parseIPv4(m[1]);
  const prefix = Number(m[2]);
  if (address === null || prefix > 32) return null;
  const mask = prefixMask(prefix);
  const network = (address & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return { address, prefix, network, broadcast };
}

export function inSubnet(ip: number, c: { network: number; prefix: number }): boolean {
  return ((ip & prefixMask(c.prefix)) >>> 0) === c.network;
}

export function netmaskOf(prefix: number): string {
  return formatIPv4(prefixMask(prefix));
}
