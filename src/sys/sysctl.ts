/** /proc/sys settings: the one home for their paths, names, reads and writes. */
import { readFileSync, writeFileSync } from 'node:fs';
import { NatnetError } from '../errors.js';
import { isValidIfName } from '../net/names.js';

/** The per-interface IPv6 settings we read or write (net/ipv6/conf/<iface>/<key>). */
export const IPV6_CONF_KEYS = ['accept_dad', 'accept_ra', 'autoconf', 'disable_ipv6', 'forwarding'] as const;
export type Ipv6ConfKey = (typeof IPV6_CONF_KEYS)[number];

export const FORWARDING4_KEY = 'net/ipv4/ip_forward';
export const FORWARDING6_KEY = 'net/ipv6/conf/all/forwarding';

/** "net/ipv6/conf/<iface>/<key>"; the interface name must be a valid one and the key a known one (never a path of our choosing). */
export function ipv6ConfKey(iface: string, key: string): string {
  if (!isValidIfName(iface) || !(IPV6_CONF_KEYS as readonly string[]).includes(key)) {
    throw new NatnetError(`internal: refusing IPv6 setting ${JSON.stringify(key)} of interface ${JSON.stringify(iface)}`);
  }
  return `net/ipv6/conf/${iface}/${key}`;
}

/** The interface an ipv6ConfKey names, or null when the key is not one. */
export function ipv6ConfIface(key: string): string | null {
  const parts = key.split('/');
  if (parts.length !== 5 || parts[0] !== 'net' || parts[1] !== 'ipv6' || parts[2] !== 'conf') return null;
  return isValidIfName(parts[3]) && (IPV6_CONF_KEYS as readonly string[]).includes(parts[4]) ? parts[3] : null;
}

/** A /proc/sys path as sysctl(8) names it: "/" between parts, a "." inside an interface name as "/". */
export const sysctlName = (key: string) => key.split('/').map((part) => part.replace(/\./g, '/')).join('.');

/** /proc/sys/<key> trimmed, or null when absent or unreadable. */
export function readSysctl(key: string): string | null {
  try {
    return readFileSync(`/proc/sys/${key}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** /proc/sys/<key> = value; one line naming the setting when the kernel refuses. ifExists: a missing setting is no error. */
export function writeSysctl(key: string, value: string, ifExists = false): void {
  try {
    writeFileSync(`/proc/sys/${key}`, `${value}\n`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    if (ifExists && code === 'ENOENT') return;
    throw new NatnetError(`sysctl ${sysctlName(key)}=${value}: ${code === 'ENOENT' ? 'no such setting (is IPv6 disabled in the kernel, or the interface gone?)' : code}`);
  }
}
