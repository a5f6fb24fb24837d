import { isValidIfName } from '../net/names.js';
import type { Runner } from '../sys/runner.js';
import { FORWARDING6_KEY, ipv6ConfKey, readSysctl } from '../sys/sysctl.js';

/** The bridge sysctls an IPv6 network sets, in the order they are set (disable_ipv6 last: the rest is in place before IPv6 comes on). */
export const BRIDGE_SYSCTLS6 = { accept_dad: '0', accept_ra: '0', autoconf: '0', disable_ipv6: '0' } as const;
export type BridgeSysctl6 = keyof typeof BRIDGE_SYSCTLS6;
export const BRIDGE_SYSCTL6_KEYS = Object.keys(BRIDGE_SYSCTLS6) as BridgeSysctl6[];


/** What planning the IPv6 side needs from the host. */
export interface Ipv6Observation {
  /** The kernel has IPv6 (/proc/sys/net/ipv6 exists; not booted with ipv6.disable=1). */
  kernel: boolean;
  /** net.ipv6.conf.all.forwarding is 1. */
  forwarding: boolean;
  /** The bridge's IPv6 sysctls, or null when the bridge (or its IPv6 conf) does not exist. */
  bridge: Record<BridgeSysctl6, string> | null;
  /** Interfaces with routes learned from router advertisements (proto ra), with their accept_ra. */
  raInterfaces: { name: string; acceptRa: string | null }[];
}

export function readBridgeSysctls6(bridge: string): Record<BridgeSysctl6, string> | null {
  const out = {} as Record<BridgeSysctl6, string>;
  for (const k of BRIDGE_SYSCTL6_KEYS) {
    const v = readSysctl(ipv6ConfKey(bridge, k));
    if (v === null) return null;
    out[k] = v;
  }
  return out;
}

/** The given IPv6 sysctls of an interface that exist now (a key is absent when unreadable: no such interface, IPv6 off on it). */
export function readPresentSysctls6(iface: string, keys: string[]): Partial<Record<BridgeSysctl6, string>> {
  const out: Partial<Record<BridgeSysctl6, string>> = {};
  if (!isValidIfName(iface)) return out;
  for (const k of keys) {
    if (!(BRIDGE_SYSCTL6_KEYS as string[]).includes(k)) continue;
    const v = readSysctl(ipv6ConfKey(iface, k));
    if (v !== null) out[k as BridgeSysctl6] = v;
  }
  return out;
}

/** `ip -j -6 route show proto ra` → the interfaces it names (sorted, unique). Pure. */
export function parseRaRouteDevs(text: string): string[] {
  try {
    const routes = JSON.parse(text || '[]') as { dev?: unknown }[];
    if (!Array.isArray(routes)) return [];
    return [...new Set(routes.map((r) => r?.dev).filter((d): d is string => typeof d === 'string' && isValidIfName(d)))].sort();
  } catch {
    return [];
  }
}

export async function observeIpv6(runner: Runner, bridge: string): Promise<Ipv6Observation> {
  const kernel = readSysctl(FORWARDING6_KEY) !== null;
  if (!kernel) return { kernel, forwarding: false, bridge: null, raInterfaces: [] };
  const r = await runner.run(['ip', '-j', '-6', 'route', 'show', 'proto', 'ra'], { readOnly: true, allowFailure: true });
  const devs = r.code === 0 ? parseRaRouteDevs(r.stdout) : [];
  return {
    kernel,
    forwarding: readSysctl(FORWARDING6_KEY) === '1',
    bridge: readBridgeSysctls6(bridge),
    raInterfaces: devs.map((name) => ({ name, acceptRa: readSysctl(ipv6ConfKey(name, 'accept_ra')) })),
  };
}
