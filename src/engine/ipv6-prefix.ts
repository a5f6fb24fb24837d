/**
 * The one place a network's `ipv6 = "auto"` prefix is resolved: read from
 * <libDir>/ipv6-prefix/<network>.json (loadConfig, so every caller sees the same Network), and
 * generated once by `up` (ensureIpv6Prefixes) when there is none yet.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { isUnresolvedIpv6, resolveIpv6 } from '../config/network-ipv6.js';
import { NatnetError } from '../errors.js';
import type { AppliedRecord } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { parseCidr6, parseIPv6, prefixText6 } from '../net/ipv6.js';
import { chooseUlaPrefix, formatPrefix, type Route6, routedPrefixes } from '../plan/ipv6-prefix.js';
import { ipv6PrefixDir, ipv6PrefixFile, type Layout } from '../state/layout.js';
import { ipv6PrefixRecord } from '../state/schema.js';
import { readRecord } from '../state/store.js';
import type { Context } from './context.js';

type Stored = { kind: 'absent' } | { kind: 'ok'; prefix: bigint } | { kind: 'bad'; why: string; file: string };

function storedPrefix(l: Pick<Layout, 'libDir'>, name: string): Stored {
  const r = readRecord(ipv6PrefixFile(l, name), ipv6PrefixRecord(name));
  if (r.kind === 'ok') return { kind: 'ok', prefix: parseIPv6(r.value.prefix.slice(0, -3))! };
  if (r.kind === 'bad') return { kind: 'bad', why: r.bad.why, file: r.bad.file };
  return { kind: 'absent' };
}

/** The networks with every kept `auto` prefix put in place; an auto network without a (valid) file stays unresolved. Sync. */
export function withStoredIpv6Prefixes(l: Pick<Layout, 'libDir'>, networks: Network[]): Network[] {
  return networks.map((n) => {
    if (!n.ipv6 || !isUnresolvedIpv6(n.ipv6)) return n;
    const s = storedPrefix(l, n.name);
    return s.kind === 'ok' ? { ...n, ipv6: resolveIpv6(n.ipv6, s.prefix) } : n;
  });
}

/** Why an auto network's prefix cannot be resolved (its file is bad), or null. For status. */
export function ipv6PrefixProblem(l: Pick<Layout, 'libDir'>, net: Network): string | null {
  if (!net.ipv6 || !isUnresolvedIpv6(net.ipv6)) return null;
  const s = storedPrefix(l, net.name);
  return s.kind === 'bad' ? badPrefixLine(net.name, s.file, s.why) : null;
}

function badPrefixLine(name: string, file: string, why: string): string {
  return (
    `network ${name}: ${file} is bad (${why}), so the IPv6 prefix its VMs use is unknown; ` +
    'fix or remove the file (up then derives the prefix again; the same one unless a host route now overlaps it), or set ipv6 to an explicit prefix'
  );
}

/** This host's random seed for derived prefixes: /etc/machine-id (stable, so plan shows what up takes). */
function hostSeed(): string {
  try {
    const id = readFileSync('/etc/machine-id', 'utf8').trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id;
  } catch {
    // none: a random seed (plan may then show another prefix than up takes)
  }
  return crypto.randomUUID();
}

/**
 * Resolves every `auto` network still without a prefix: a bad file refuses (a new prefix would
 * renumber running VMs); else the prefix last applied (a record outlives a removed file), else a
 * new one overlapping no IPv6 route of the host and no other network's prefix, kept in the state
 * (not in a dry run). Only the networks named in `only` (those being brought up). Needs the lock when not a dry run.
 */
export async function ensureIpv6Prefixes(ctx: Context, networks: Network[], records: AppliedRecord[], only: Set<string>): Promise<Network[]> {
  const pending = networks.filter((n) => n.ipv6 && isUnresolvedIpv6(n.ipv6) && only.has(n.name));
  if (pending.length === 0) return networks;
  let routes: Route6[] | null = null;
  const out = [...networks];
  for (const net of pending) {
    const s = storedPrefix(ctx, net.name);
    if (s.kind === 'bad') throw new NatnetError(badPrefixLine(net.name, s.file, s.why));
    const applied = records.find((r) => r.network.name === net.name)?.network.ipv6;
    let prefix = applied?.auto ? parseIPv6(applied.subnet) : null;
    if (prefix === null) {
      routes ??= await readRoutes6(ctx);
      const taken = [
        ...routedPrefixes(routes, net.bridge),
        ...out.filter((n) => n !== net && n.ipv6 && !isUnresolvedIpv6(n.ipv6)).map((n) => parseCidr6(prefixText6(n.ipv6!))!),
      ];
      prefix = chooseUlaPrefix(`${hostSeed()}\0${ctx.libDir}\0${net.name}`, taken);
      if (prefix === null) throw new NatnetError(`network ${net.name}: no generated IPv6 prefix avoids the host's IPv6 routes; set ipv6 to an explicit prefix`);
    }
    if (!ctx.dryRun) {
      mkdirSync(ipv6PrefixDir(ctx), { recursive: true, mode: 0o755 });
      const rec = { network: net.name, prefix: formatPrefix(prefix), created: new Date().toISOString() };
      writeFileAtomic(ipv6PrefixFile(ctx, net.name), `${JSON.stringify(rec, null, 2)}\n`);
      ctx.log.info({ network: net.name, prefix: rec.prefix }, 'IPv6 prefix generated and kept');
    }
    out[out.indexOf(net)] = { ...net, ipv6: resolveIpv6(net.ipv6!, prefix) };
  }
  return out;
}

async function readRoutes6(ctx: Context): Promise<Route6[]> {
  const r = await ctx.runner.run(['ip', '-j', '-6', 'route', 'show', 'table', 'all'], { readOnly: true, allowFailure: true });
  if (r.code !== 0) return [];
  try {
    const parsed = JSON.parse(r.stdout || '[]') as unknown;
    return Array.isArray(parsed) ? parsed.filter((x): x is Route6 => typeof x?.dst === 'string') : [];
  } catch {
    return [];
  }
}
