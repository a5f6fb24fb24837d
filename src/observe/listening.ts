import { readFileSync } from 'node:fs';

/** A socket bound for incoming traffic: TCP in LISTEN, UDP bound (unconnected). */
export interface ListeningSocket {
  proto: 'tcp' | 'udp';
  /** IPv4 address, or "0.0.0.0" for any (also an IPv6 socket on "::", which takes IPv4 too). */
  address: string;
  port: number;
}

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/** "0100007F" (a 32-bit word in host order, little-endian here) → "127.0.0.1". */
function ipv4OfHex(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [0, 8, 16, 24].map((s) => (n >>> s) & 255).join('.');
}

/** One /proc/net/{tcp,udp}{,6} table → its listening sockets. IPv6 addresses other than any / v4-mapped are skipped. Pure. */
export function parseProcNet(text: string, proto: 'tcp' | 'udp'): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (f[3] !== (proto === 'tcp' ? TCP_LISTEN : UDP_UNCONNECTED)) continue;
    const [addr, portHex] = f[1].split(':');
    const port = Number.parseInt(portHex ?? '', 16);
    if (!Number.isInteger(port) || port === 0) continue;
    let address: string | null = null;
    if (addr.length === 8) address = ipv4OfHex(addr);
    else if (addr.length === 32) {
      if (/^0+$/.test(addr)) address = '0.0.0.0';
      else if (addr.slice(0, 24).toUpperCase() === '0000000000000000FFFF0000') address = ipv4OfHex(addr.slice(24));
    }
    if (address !== null) out.push({ proto, address, port });
  }
  return out;
}

/** The listening sockets of the network namespace this process runs in; unreadable tables count as empty. */
export function readListeningSockets(): ListeningSocket[] {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return [
    ...parseProcNet(read('/proc/net/tcp'), 'tcp'),
    ...parseProcNet(read('/proc/net/tcp6'), 'tcp'),
    ...parseProcNet(read('/proc/net/udp'), 'udp'),
    ...parseProcNet(read('/proc/net/udp6'), 'udp'),
  ];
}
