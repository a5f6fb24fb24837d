import { readText } from '../config/read-text.js';
import { parseIPv4 } from '../net/ipv4.js';
import { formatIPv6, parseIPv6 } from '../net/ipv6.js';
import { normaliseMac } from '../net/mac.js';

/** One active DHCPv4 lease as dnsmasq wrote it. `expiry`: seconds since the epoch, null for an infinite lease. */
export interface DhcpLease {
  expiry: number | null;
  mac: string;
  ip: string;
  hostname: string | null;
  /** Where it is in the file (1-based), so that an edit can drop exactly its line. */
  line: number;
}

/** One active DHCPv6 lease as dnsmasq wrote it (after its `duid` line). */
export interface Dhcp6Lease {
  expiry: number | null;
  /** The client's identity association (IAID); `temporary` for an IA_TA ("T" in front). */
  iaid: number;
  temporary: boolean;
  /** RFC 5952 form. */
  ip: string;
  hostname: string | null;
  /** The client's DUID, lower-case hex bytes with colons; null when dnsmasq wrote "*". */
  duid: string | null;
  /** The MAC inside a DUID-LLT or DUID-LL of an Ethernet client; null for other DUIDs (UUID, EN). */
  mac: string | null;
  /** Where it is in the file (1-based). */
  line: number;
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
/** A DUID is 2 type octets and at most 128 more (RFC 8415 11.1). */
const DUID = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){1,129}$/;

/**
 * dnsmasq's lease file (dhcp-leasefile in dnsmasq(8)): DHCPv4 lines `EXPIRY MAC IP HOSTNAME
 * CLIENTID`, then, when it serves DHCPv6, a `duid SERVER-DUID` line and DHCPv6 lines `EXPIRY
 * [T]IAID IPV6 HOSTNAME CLIENT-DUID`. Read back from disk, so untrusted: a line that is not
 * exactly its shape is skipped and named, never guessed at.
 */
export function readDnsmasqLeases(text: string): { leases: DhcpLease[]; leases6: Dhcp6Lease[]; bad: BadLeaseLine[] } {
  const leases: DhcpLease[] = [];
  const leases6: Dhcp6Lease[] = [];
  const bad: BadLeaseLine[] = [];
  let v6 = false;
  text.split('\n').forEach((raw, i) => {
    const f = raw.trim().split(/\s+/);
    if (f[0] === '') return;
    if (f[0] === 'duid') {
      v6 = true;
      return;
    }
    const why = v6 ? problemOf6(f) : problemOf(f);
    if (why) {
      bad.push({ line: i + 1, why });
      return;
    }
    const [expiry, second, ip, hostname, id] = f;
    const common = { expiry: expiry === '0' ? null : Number(expiry), hostname: hostname === '*' ? null : hostname, line: i + 1 };
    if (!v6) leases.push({ expiry: common.expiry, mac: normaliseMac(second)!, ip, hostname: common.hostname, line: i + 1 });
    else {
      const duid = id === '*' ? null : id.toLowerCase();
      const temporary = second.startsWith('T');
      leases6.push({ ...common, iaid: Number(temporary ? second.slice(1) : second), temporary, ip: formatIPv6(parseIPv6(ip)!), duid, mac: duid ? macOfDuid(duid) : null });
    }
  });
  return { leases, leases6, bad };
}

function problemOf(f: string[]): string | null {
  if (f.length < 4 || f.length > 5) return `expected "EXPIRY MAC IP HOSTNAME [CLIENT-ID]", got ${f.length} field${f.length === 1 ? '' : 's'}`;
  const [expiry, mac, ip, hostname] = f;
  return (
    expiryProblem(expiry) ??
    (!normaliseMac(mac) ? `MAC ${JSON.stringify(mac.slice(0, 40))}: expected six hex octets` : null) ??
    (parseIPv4(ip) === null ? `IP ${JSON.stringify(ip.slice(0, 60))}: expected an IPv4 address` : null) ??
    hostnameProblem(hostname)
  );
}

function problemOf6(f: string[]): string | null {
  if (f.length !== 5) return `expected "EXPIRY IAID IPV6 HOSTNAME CLIENT-DUID" (a DHCPv6 lease, after the duid line), got ${f.length} field${f.length === 1 ? '' : 's'}`;
  const [expiry, iaid, ip, hostname, duid] = f;
  const n = /^T?(\d{1,10})$/.exec(iaid);
  return (
    expiryProblem(expiry) ??
    (!n || Number(n[1]) > 0xffffffff ? `IAID ${JSON.stringify(iaid.slice(0, 40))}: expected a 32-bit number (T in front for a temporary address)` : null) ??
    (parseIPv6(ip) === null ? `IP ${JSON.stringify(ip.slice(0, 60))}: expected an IPv6 address` : null) ??
    hostnameProblem(hostname) ??
    (duid !== '*' && !DUID.test(duid) ? `DUID ${JSON.stringify(duid.slice(0, 60))}: expected hex octets with colons or *` : null)
  );
}

function expiryProblem(expiry: string): string | null {
  return !/^\d{1,13}$/.test(expiry) || Number(expiry) > MAX_EXPIRY ? `expiry ${JSON.stringify(expiry.slice(0, 40))}: expected seconds since the epoch` : null;
}

function hostnameProblem(hostname: string): string | null {
  return hostname !== '*' && !HOSTNAME.test(hostname) ? `hostname ${JSON.stringify(hostname.slice(0, 60))}: expected a DNS name or *` : null;
}

/**
 * The MAC a DHCPv6 client's DUID carries: DUID-LLT (type 1: hardware type, time, address) or
 * DUID-LL (type 3: hardware type, address) of an Ethernet interface (hardware type 1); else null.
 */
export function macOfDuid(duid: string): string | null {
  const b = duid.split(':');
  const ethernet = (hwAt: number, macAt: number) => (b.length === macAt + 6 && b[hwAt] === '00' && b[hwAt + 1] === '01' ? b.slice(macAt).join(':') : null);
  if (b[0] !== '00') return null;
  if (b[1] === '01') return ethernet(2, 8);
  if (b[1] === '03') return ethernet(2, 4);
  return null;
}

/**
 * A network's lease file as text (null: none yet), the one way it is read. It is dnsmasq's, in
 * our lib directory, and still read as untrusted: never through a symlink (what forget-leases
 * reads is written back over it), and a FIFO or device in its place neither blocks (O_NONBLOCK)
 * nor is read: anything but a regular UTF-8 file throws UnreadableFileError saying what it is.
 */
export function readLeaseFile(path: string): string | null {
  return readText(path, false, { noFollow: true });
}

/** readLeaseFile, '' when there is none or it cannot be read (`unreadable` is told why). */
export function leaseFileText(path: string, unreadable: (why: unknown) => void = () => {}): string {
  try {
    return readLeaseFile(path) ?? '';
  } catch (e) {
    unreadable(e);
    return '';
  }
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
