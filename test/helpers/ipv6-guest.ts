/**
 * IPv6 on Lab guests: the kernel's SLAAC (accept_ra=1, autoconf=1 in the guest's namespace) and
 * a TCP round trip over IPv6. Addresses, routes, DHCPv6 and AAAA lookups are the selftest's
 * (src/selftest/probes6.ts, dhclient6.ts, probes.ts resolveName), called with the tests' exec.
 */
import { formatIPv6, parseIPv6 } from '../../src/net/ipv6.js';
import { inNs, sleep } from '../../src/selftest/exec.js';
import { killInNamespace, waitListening } from '../../src/selftest/topology.js';
import { exec } from './exec.js';
import type { Guest, Lab } from './netns.js';

/** Lets the guest's eth0 configure itself from router advertisements (a guest kernel's default). */
export async function enableSlaac(lab: Lab, g: Guest): Promise<void> {
  for (const key of ['accept_ra=1', 'autoconf=1', 'disable_ipv6=0']) await lab.mustRun(['sysctl', '-q', '-w', `net.ipv6.conf.eth0.${key}`], g.ns);
}

/** socat's "AF=10 [0000:...:0001]:port" → RFC 5952 text. */
const PEER_LINE = /accepting connection from AF=10 \[([0-9a-f:]+)\]:\d+/;

/**
 * One TCP connection over IPv6 from clientNs (from address `from`: a guest also has its SLAAC
 * address) to [ip]:port; the listener in serverNs reports the source it saw.
 */
export async function roundTrip6(serverNs: string, clientNs: string, ip: string, port: number, from: string) {
  const server = exec(inNs(serverNs, ['timeout', '15', 'socat', '-d', '-d', `TCP6-LISTEN:${port},reuseaddr`, '-']));
  if (!(await waitListening(exec, serverNs, 'tcp', port))) throw new Error(`no listener on tcp/${port} in ${serverNs}`);
  const client = await exec(inNs(clientNs, ['socat', '-T', '2', '-', `TCP6:[${ip}]:${port},connect-timeout=3,bind=[${from}]`]), { input: 'natnet-ipv6\n' });
  const settled = await Promise.race([server.then(() => true), sleep(1500).then(() => false)]);
  if (!settled) await killInNamespace(exec, serverNs, 'socat');
  const seen = PEER_LINE.exec((await server).stderr);
  const n = seen ? parseIPv6(seen[1]) : null;
  return { connected: client.code === 0, peerSaw: n === null ? null : formatIPv6(n), clientError: client.stderr.trim().split('\n').pop() ?? '' };
}
