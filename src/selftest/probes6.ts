/** What a simulated guest's IPv6 side looks like: its addresses (SLAAC or DHCPv6) and its default route. */
import { formatIPv6, inSubnet6, parseCidr6, parseIPv6 } from '../net/ipv6.js';
import { type Exec, inNs, sleep } from './exec.js';

/** The addresses of `dev` in ns of one scope (`ip -6 -o addr show`), RFC 5952 form, without prefix length. */
export async function addresses6(exec: Exec, ns: string, dev: string, scope: 'global' | 'link'): Promise<string[]> {
  const r = await exec(inNs(ns, ['ip', '-6', '-o', 'addr', 'show', 'dev', dev, 'scope', scope]));
  return parseAddresses6(r.stdout);
}

/** `ip -6 -o addr show` lines → their addresses (tentative ones too: DAD may be off). */
export function parseAddresses6(text: string): string[] {
  return [...text.matchAll(/\binet6\s+(\S+)/g)].flatMap((m) => {
    const c = parseCidr6(m[1]);
    return c === null ? [] : [formatIPv6(c.address)];
  });
}

/**
 * Polls until `dev` in ns has a global address inside prefix (SLAAC after a router
 * advertisement, ~1-2 s), then returns it; null after `seconds`.
 */
export async function waitAddressIn(exec: Exec, ns: string, dev: string, prefix: string, seconds = 15): Promise<string | null> {
  const c = parseCidr6(prefix);
  if (c === null) return null;
  for (let i = 0; i < seconds * 5; i++) {
    const hit = (await addresses6(exec, ns, dev, 'global')).find((a) => inSubnet6(parseIPv6(a)!, c));
    if (hit) return hit;
    await sleep(200);
  }
  return null;
}

/** The IPv6 default route of ns (`ip -6 route show default`): its gateway and device, or null. */
export async function defaultRoute6(exec: Exec, ns: string): Promise<{ via: string; dev: string } | null> {
  const r = await exec(inNs(ns, ['ip', '-6', 'route', 'show', 'default']));
  return parseDefaultRoute6(r.stdout);
}

export function parseDefaultRoute6(text: string): { via: string; dev: string } | null {
  const m = /^default via (\S+) dev (\S+)/m.exec(text);
  const via = m ? parseIPv6(m[1]) : null;
  return via === null ? null : { via: formatIPv6(via), dev: m![2] };
}

/** Polls the AAAA answers for name until one is `want` (dnsmasq's ra-names learns a SLAAC address some seconds after DHCPv4). */
export async function waitResolves(resolve: () => Promise<string[]>, want: string, seconds = 20): Promise<string[]> {
  let answers: string[] = [];
  for (let i = 0; i < seconds * 2; i++) {
    answers = await resolve();
    if (answers.includes(want)) break;
    await sleep(500);
  }
  return answers;
}

/**
 * Polls until `dev` in ns has a link-local address past duplicate address detection (~1 s after
 * the link comes up): a DHCPv6 client binds to it and fails before. False after `seconds`.
 */
export async function waitLinkLocal(exec: Exec, ns: string, dev: string, seconds = 10): Promise<boolean> {
  for (let i = 0; i < seconds * 10; i++) {
    const r = await exec(inNs(ns, ['ip', '-6', '-o', 'addr', 'show', 'dev', dev, 'scope', 'link']));
    if (r.stdout.split('\n').some((l) => /\binet6 fe80:/.test(l) && !/\btentative\b/.test(l))) return true;
    await sleep(100);
  }
  return false;
}
