import { parseIPv4 } from '../net/ipv4.js';
import { normaliseMac } from '../net/mac.js';

/** One active lease as dnsmasq wrote it. `expiry`: seconds since the epoch, null for an infinite lease. */
export interface DhcpLease {
  expiry: number | null;
  mac: string;
  ip: string;
  hostname: string | null;
}

/** A line of a lease file that was skipped, and why. */
export interface BadLeaseLine {
  line: number;
  why: string;
}

/** What dnsmasq accepts as a client's name (a DNS name, `_` tolerated); '*' = none given. */
const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/;
/** Far enough: 2^40 s is ~35,000 years; a bigger "expiry" is not a time. */
const MAX_EXPIRY = 2 ** 40;

/**
 * dnsmasq's lease file (`EXPIRY MAC IP HOSTNAME CLIENTID` a line; dhcp-leasefile in dnsmasq(8)).
 * Read back from disk, so untrusted: a line that is not exactly that shape is skipped and named,
 * never guessed at. The DHCPv6 `duid` line is not a lease (our networks are IPv4).
 */
export function readDnsmasqLeases(text: string): { leases: DhcpLease[]; bad: BadLeaseLine[] } {
  const leases: DhcpLease[] = [];
  const bad: BadLeaseLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const f = raw.trim().split(/\s+/);
    if (f[0] === '' || f[0] === 'duid') return;
    const why = problemOf(f);
    if (why) {
      bad.push({ line: i + 1, why });
      return;
    }
    const [expiry, mac, ip, hostname] = f;
    leases.push({ expiry: expiry === '0' ? null : Number(expiry), mac: normaliseMac(mac)!, ip, hostname: hostname === '*' ? null : hostname });
  });
  return { leases, bad };
}

function problemOf(f: string[]): string | null {
  if (f.length < 4 || f.length > 5) return `expected "EXPIRY MAC IP HOSTNAME [CLIENT-ID]", got ${f.length} field${f.length === 1 ? '' : 's'}`;
  const [expiry, mac, ip, hostname] = f;
  if (!/^\d{1,13}$/.test(expiry) || Number(expiry) > MAX_EXPIRY) return `expiry ${JSON.stringify(expiry.slice(0, 40))}: expected seconds since the epoch`;
  if (!normaliseMac(mac)) return `MAC ${JSON.stringify(mac.slice(0, 40))}: expected six hex octets`;
  if (parseIPv4(ip) === null) return `IP ${JSON.stringify(ip.slice(0, 60))}: expected an IPv4 address`;
  if (hostname !== '*' && !HOSTNAME.test(hostname)) return `hostname ${JSON.stringify(hostname.slice(0, 60))}: expected a DNS name or *`;
  return null;
}

/** One lease as `status` shows it (expiry in UTC ISO form). */
export interface ActiveLease {
  expires: string;
  mac: string;
  ip: string;
  hostname: string | null;
}

export function parseLeaseFile(text: string): ActiveLease[] {
  return readDnsmasqLeases(text).leases.map((l) => ({
    expires: l.expiry === null ? 'never' : new Date(l.expiry * 1000).toISOString(),
    mac: l.mac,
    ip: l.ip,
    hostname: l.hostname,
  }));
}

/** `ss -Hlnp -t -u` lines → local addresses the given pid listens on. */
export function parseSsListening(text: string, pid: number): string[] {
  return text
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return `${f[0]} ${f[4]}`;
    });
}
