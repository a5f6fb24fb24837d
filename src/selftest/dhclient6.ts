/**
 * DHCPv6 for simulated guests: ISC dhclient (isc-dhcp-client) in `-6 -1` mode with files of its
 * own (config, lease database, pid file, event script) in a directory of the lab, never the
 * system's: its default script rewrites /etc/resolv.conf, which network namespaces share with
 * the host. It daemonizes after the first lease; the caller stops it by its pid file.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIPv6, parseIPv6 } from '../net/ipv6.js';
import { type Exec, inNs } from './exec.js';
import { waitLinkLocal } from './probes6.js';
import { killPids } from './topology.js';

/**
 * The event script: configures the leased address (without duplicate address detection: the
 * test waits for nothing) and nothing else. dhclient passes the script no environment of ours,
 * so it records nothing; the lease database says what was leased.
 */
export const DHCLIENT6_SCRIPT = `#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
case "$reason" in
BOUND6|RENEW6|REBIND6|REBOOT6)
  [ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/\${new_ip6_prefixlen:-128}" dev "$interface" nodad
  ;;
EXPIRE6|RELEASE6)
  [ -n "$old_ip6_address" ] && ip -6 addr del "$old_ip6_address/\${old_ip6_prefixlen:-128}" dev "$interface"
  ;;
esac
exit 0
`;

/** Gives up on a DHCPv6 server that does not answer after this many seconds (dhclient's `timeout`). */
export const DHCLIENT6_TIMEOUT_SECONDS = 10;

export interface Dhclient6Guest {
  ns: string;
  /** Label for the guest's files: <dir>/<name>.dhclient6.{leases,pid} */
  name: string;
  dir: string;
}

/** Writes the event script and an empty-but-for-the-timeout config into dir; returns their paths. */
export function writeDhclient6Files(dir: string): { script: string; conf: string } {
  const script = join(dir, 'dhclient6.script');
  writeFileSync(script, DHCLIENT6_SCRIPT, { mode: 0o755 });
  chmodSync(script, 0o755);
  const conf = join(dir, 'dhclient6.conf');
  writeFileSync(conf, `timeout ${DHCLIENT6_TIMEOUT_SECONDS};\n`, { mode: 0o644 });
  return { script, conf };
}

const files = (g: Dhclient6Guest) => ({ leases: join(g.dir, `${g.name}.dhclient6.leases`), pid: join(g.dir, `${g.name}.dhclient6.pid`) });

/** argv of one DHCPv6 exchange on the guest's eth0 (`-1`: give up after the timeout, exit 2). */
export function dhclient6Argv(g: Dhclient6Guest, f: { script: string; conf: string }): string[] {
  const { leases, pid } = files(g);
  return inNs(g.ns, ['dhclient', '-6', '-1', '-v', '-cf', f.conf, '-sf', f.script, '-lf', leases, '-pf', pid, 'eth0']);
}

/**
 * The address of the newest lease6 block of a dhclient lease database (`iaaddr ADDR {`), RFC 5952
 * form; null when there is none.
 */
export function leasedAddress6(leaseDb: string): string | null {
  const last = leaseDb.lastIndexOf('lease6 {');
  if (last < 0) return null;
  const m = /\biaaddr\s+([0-9A-Fa-f:.]+)\s*\{/.exec(leaseDb.slice(last));
  const n = m ? parseIPv6(m[1]) : null;
  return n === null ? null : formatIPv6(n);
}

/**
 * One DHCPv6 exchange: the address leased (and configured on eth0), or null with dhclient's output.
 * The daemon dhclient leaves behind is stopped by its pid before this returns (SIGTERM: dhclient
 * neither releases the lease nor runs the script, so the address stays).
 */
export async function dhcp6Once(exec: Exec, g: Dhclient6Guest, f: { script: string; conf: string }): Promise<{ ip: string | null; output: string }> {
  if (!(await waitLinkLocal(exec, g.ns, 'eth0'))) return { ip: null, output: 'eth0 has no usable link-local address after 10 s (dhclient binds to it)' };
  const r = await exec(dhclient6Argv(g, f), { timeoutSeconds: DHCLIENT6_TIMEOUT_SECONDS + 10 });
  await stopDhclient6(g);
  let ip: string | null = null;
  if (r.code === 0) {
    try {
      ip = leasedAddress6(readFileSync(files(g).leases, 'utf8'));
    } catch {}
  }
  return { ip, output: (r.stdout + r.stderr).trim() };
}

/** The line of dhclient's output that says what went wrong (it ends every failure with "exiting."). */
export function dhclientProblem(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /can't|cannot|no (dhcpv6|address)|error|fail|timed? ?out/i.test(l)) ?? lines[lines.length - 1] ?? 'no output';
}

/** Stops the guest's dhclient daemon by the pid it wrote, if any (never by name). */
export async function stopDhclient6(g: Dhclient6Guest): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(files(g).pid, 'utf8').trim(), 10);
  } catch {
    return;
  }
  if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) await killPids([pid]);
}
