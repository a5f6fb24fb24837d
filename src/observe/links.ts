import type { Runner } from '../sys/runner.js';

export interface LinkState {
  name: string;
  kind: string;
  mac: string;
  up: boolean;
  master: string | null;
  /** IPv4 addresses, then global-scope IPv6 ones, with prefix ("192.168.100.1/24", "fd00::1/64"). */
  addresses: string[];
  stp?: boolean;
  /** seconds */
  forwardDelay?: number;
}

interface IpJsonLink {
  ifname: string;
  address?: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { stp_state?: number; forward_delay?: number } };
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/** `ip -j -d addr show` → links by name. Pure. */
export function parseIpAddrJson(text: string): Map<string, LinkState> {
  const links = new Map<string, LinkState>();
  for (const l of JSON.parse(text || '[]') as IpJsonLink[]) {
    const info = l.linkinfo?.info_data;
    links.set(l.ifname, {
      name: l.ifname,
      kind: l.linkinfo?.info_kind ?? '',
      mac: (l.address ?? '').toLowerCase(),
      up: (l.flags ?? []).includes('UP'),
      master: l.master ?? null,
      // IPv4, then global IPv6 (a ULA is global scope; link-local fe80:: ones are the kernel's)
      addresses: [
        ...(l.addr_info ?? []).filter((a) => a.family === 'inet'),
        ...(l.addr_info ?? []).filter((a) => a.family === 'inet6' && a.scope === 'global'),
      ].map((a) => `${a.local}/${a.prefixlen}`),
      ...(l.linkinfo?.info_kind === 'bridge' && info
        ? { stp: (info.stp_state ?? 0) !== 0, forwardDelay: Math.round((info.forward_delay ?? 0) / 100) }
        : {}),
    });
  }
  return links;
}

/** Every link of this namespace, with addresses and bridge details, in one process. */
export async function observeLinks(runner: Runner): Promise<Map<string, LinkState>> {
  const r = await runner.run(['ip', '-j', '-d', 'addr', 'show'], { readOnly: true });
  return parseIpAddrJson(r.stdout);
}
