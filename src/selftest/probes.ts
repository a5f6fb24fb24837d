/** What the simulated guests and the peer do: DHCP, TCP/UDP round trips, DNS, socket listings. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIPv6, parseIPv6 } from '../net/ipv6.js';
import { type Exec, inNs, sleep } from './exec.js';
import { killInNamespace, waitListening } from './topology.js';

export interface DhcpGuest {
  /** Guest namespace. */
  ns: string;
  /** Label used for the files the script writes: <dir>/<name>.ip, .dns, .log */
  name: string;
  /** Directory holding the script's output. */
  dir: string;
  /** Path of the udhcpc event script (see udhcpc-script.ts). */
  script: string;
}

export function udhcpcEnv(g: DhcpGuest): Record<string, string> {
  return { NN_DIR: g.dir, NN_GUEST: g.name };
}

/** argv of udhcpc in the guest; oneShot quits after the first lease (-q -n). */
export function udhcpcArgv(g: DhcpGuest, opts: { oneShot: boolean; hostname?: string; tries?: number }): string[] {
  const argv = ['udhcpc', '-i', 'eth0', '-f', '-s', g.script, '-t', String(opts.tries ?? 8), '-T', '1'];
  if (opts.oneShot) argv.push('-n', '-q');
  if (opts.hostname) argv.push('-x', `hostname:${opts.hostname}`);
  return inNs(g.ns, argv);
}

/** The address the script last recorded for the guest, or null. */
export function guestIp(g: DhcpGuest): string | null {
  try {
    return readFileSync(join(g.dir, `${g.name}.ip`), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** One DHCP exchange (udhcpc -q): the address obtained, or null with udhcpc's output. */
export async function dhcpOnce(exec: Exec, g: DhcpGuest, opts: { hostname?: string; tries?: number } = {}) {
  const r = await exec(udhcpcArgv(g, { oneShot: true, ...opts }), { env: udhcpcEnv(g) });
  const ip = r.code === 0 ? guestIp(g) : null;
  return { ip, output: (r.stdout + r.stderr).trim() };
}

export interface RoundTrip {
  /** The client connected (TCP) or sent (UDP) without error. */
  connected: boolean;
  /** Source address the listener saw, or null if it saw nothing. */
  peerSaw: string | null;
  /** Client error text, e.g. "Connection refused". */
  clientError: string;
}

// socat -d -d writes IPv6 peers in full form ([2001:0db8:...:0001]:port)
const PEER_LINE = /(?:accepting connection|receiving packet) from AF=(?:2 ([0-9.]+)|10 \[([0-9a-fA-F:]+)\]):\d+/;

/**
 * One connection from clientNs to ip:port, with a socat listener in serverNs that logs
 * (stderr, -d -d) the source address it sees — the peer "reports" the address. The listener
 * is on `listenPort` (default: port), e.g. the VM port a forward maps the host port to.
 */
export async function roundTrip(
  exec: Exec,
  opts: { serverNs: string; clientNs: string; ip: string; port: number; proto: 'tcp' | 'udp'; listenPort?: number },
): Promise<RoundTrip> {
  const { serverNs, clientNs, ip, port, proto } = opts;
  const at = opts.listenPort ?? port;
  const v6 = ip.includes(':');
  const six = v6 ? '6' : '';
  const listen = proto === 'tcp' ? `TCP${six}-LISTEN:${at},reuseaddr` : `UDP${six}-RECVFROM:${at}`;
  const server = exec(inNs(serverNs, ['timeout', '15', 'socat', '-d', '-d', listen, '-']));
  if (!(await waitListening(exec, serverNs, proto, at))) {
    await killInNamespace(exec, serverNs, 'socat');
    await server;
    return { connected: false, peerSaw: null, clientError: `no listener came up on ${proto}/${at}` };
  }
  const host = v6 ? `[${ip}]` : ip;
  const target = proto === 'tcp' ? `TCP${six}:${host}:${port},connect-timeout=3` : `UDP${six}:${host}:${port}`;
  const client = await exec(inNs(clientNs, ['socat', '-T', '2', '-', target]), { input: 'natnet-selftest\n' });
  const clientError = client.code === 0 ? '' : lastErrorLine(client.stderr);
  // Give the listener a moment to log the connection, then stop it if it still waits.
  const settled = await Promise.race([server.then(() => true), sleep(1500).then(() => false)]);
  if (!settled) await killInNamespace(exec, serverNs, 'socat');
  const seen = PEER_LINE.exec((await server).stderr);
  const peerSaw = seen ? (seen[1] ?? formatIPv6(parseIPv6(seen[2]) ?? 0n)) : null;
  return { connected: client.code === 0, peerSaw, clientError };
}

function lastErrorLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const line = lines[lines.length - 1] ?? '';
  // socat: "2026/.. socat[12] E connect(5, AF=2 1.2.3.4:80, 16): Connection refused"
  const m = /\): (.*)$/.exec(line);
  return m ? m[1] : line;
}

/** A-record (or AAAA-record, RFC 5952 form) answers for name from server, as seen by busybox nslookup in ns. */
export async function resolveName(exec: Exec, ns: string, name: string, server: string, type: 'A' | 'AAAA' = 'A'): Promise<string[]> {
  const r = await exec(inNs(ns, ['busybox', 'nslookup', ...(type === 'AAAA' ? ['-type=AAAA'] : []), name, server]));
  // Answers follow the "Name:" line; the server's own address precedes it.
  const after = r.stdout.split(/^Name:/m).slice(1).join('\n');
  if (type === 'A') return [...after.matchAll(/^Address(?: \d+)?:\s*([0-9.]+)\s*$/gm)].map((m) => m[1]);
  return [...after.matchAll(/^Address(?: \d+)?:\s*([0-9a-fA-F:]+)\s*$/gm)].flatMap((m) => {
    const n = parseIPv6(m[1]);
    return n === null ? [] : [formatIPv6(n)];
  });
}

export interface ListeningSocket {
  proto: string;
  local: string;
  process: string;
}

/** Every listening TCP/UDP socket in ns (`ss -Hlntup`). */
export async function listeningSockets(exec: Exec, ns: string): Promise<ListeningSocket[]> {
  const r = await exec(inNs(ns, ['ss', '-Hlntup']));
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const proc = /\(\("([^"]+)"/.exec(l);
      return { proto: f[0], local: f[4] ?? '', process: proc ? proc[1] : '' };
    });
}

/** True when a listening socket is bound to the bridge only (one of its addresses, or %bridge). */
export function boundToBridge(s: ListeningSocket, bridge: string, gateways: string | string[]): boolean {
  const own = (typeof gateways === 'string' ? [gateways] : gateways).map((g) => (g.includes(':') ? `[${g}]:` : `${g}:`));
  return own.some((g) => s.local.startsWith(g)) || s.local.includes(`%${bridge}:`) || s.local.includes(`%${bridge}]`);
}
