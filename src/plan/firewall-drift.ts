import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';
import type { IptablesDump } from '../observe/iptables.js';
import { ip6tablesJumps, ip6tablesOurChains, ip6tablesRules, iptablesJumps, iptablesOurChains, iptablesRules } from '../render/iptables.js';
import { nft6Chains, nftChains } from '../render/nft.js';
import { nftTable } from '../render/names.js';

export interface Jump {
  table: string;
  from: string;
  to: string;
}

export interface FirewallDrift {
  /** Expected rules (or jumps, chains) that are not there. */
  missing: string[];
  /** Rules in our chains/table that we did not put there. */
  extra: string[];
  missingJumps: Jump[];
  duplicateJumps: Jump[];
  /**
   * The IPv6 side (ip6tables, or our nft ip6 table), when it differs: what the network's IPv6
   * needs, or our IPv6 rules that remain although the network has no IPv6 (any more).
   */
  ipv6?: FirewallDrift;
}

/** This family's rules are as they should be (the IPv6 side not considered). */
export function familyClean(d: FirewallDrift): boolean {
  return d.missing.length === 0 && d.extra.length === 0 && d.missingJumps.length === 0 && d.duplicateJumps.length === 0;
}

export function isClean(d: FirewallDrift): boolean {
  return familyClean(d) && (!d.ipv6 || familyClean(d.ipv6));
}

/** Each family's drift with the prefix status shows its lines with ('' for IPv4, 'ip6 ' for IPv6). */
export function driftByFamily(d: FirewallDrift): { label: string; drift: FirewallDrift }[] {
  return [{ label: '', drift: d }, ...(d.ipv6 ? [{ label: 'ip6 ', drift: d.ipv6 }] : [])];
}

function diffLines(want: string[], got: string[]): { missing: string[]; extra: string[] } {
  const missing = want.filter((w) => !got.includes(w));
  const extra = got.filter((g) => !want.includes(g));
  // same set but wrong order still needs a refill
  if (missing.length === 0 && extra.length === 0 && want.join('\n') !== got.join('\n')) {
    return { missing: ['(rule order differs)'], extra: [] };
  }
  return { missing, extra };
}

/** Our chains, their rules and our jumps in one family's dump vs what they should be. Pure. */
function chainsDrift(ours: { table: string; chain: string }[], want: { nat: string[]; filter: string[] }, jumps: Jump[], dump: IptablesDump): FirewallDrift {
  const out: FirewallDrift = { missing: [], extra: [], missingJumps: [], duplicateJumps: [] };
  for (const table of ['nat', 'filter'] as const) {
    const chains = ours.filter((c) => c.table === table).map((c) => c.chain);
    const rules = want[table];
    const declared = dump.chains.get(table) ?? new Set<string>();
    for (const ch of chains) if (!declared.has(ch)) out.missing.push(`${table} chain ${ch}`);
    const got = (dump.rules.get(table) ?? []).filter((l) => chains.some((ch) => l.startsWith(`-A ${ch} `)));
    const d = diffLines([...rules], got);
    out.missing.push(...d.missing.map((l) => `${table} ${l}`));
    out.extra.push(...d.extra.map((l) => `${table} ${l}`));
  }
  for (const j of jumps) {
    const line = `-A ${j.from} -j ${j.to}`;
    const n = (dump.rules.get(j.table) ?? []).filter((l) => l === line).length;
    if (n === 0) out.missingJumps.push(j);
    for (let i = 1; i < n; i++) out.duplicateJumps.push(j);
  }
  return out;
}

/** Our IPv6 jumps and chains still in an ip6tables dump although the network has no IPv6. */
function staleIp6tables(net: Pick<Network, 'bridge'>, dump: IptablesDump): FirewallDrift {
  const chains = ip6tablesOurChains(net).filter((c) => dump.chains.get(c.table)?.has(c.chain));
  const jumps = ip6tablesJumps(net).filter((j) => (dump.rules.get(j.table) ?? []).includes(`-A ${j.from} -j ${j.to}`));
  return {
    missing: [],
    extra: [...jumps.map((j) => `${j.table} -A ${j.from} -j ${j.to}`), ...chains.map((c) => `${c.table} chain ${c.chain}`)].map((l) => `${l} (the network has no IPv6)`),
    missingJumps: [],
    duplicateJumps: [],
  };
}

/**
 * Our chains and jumps in an iptables-save dump vs what the network needs. Pure. `dump6`: the
 * ip6tables-save dump (undefined: not looked at; null: unreadable, so nothing of ours in it).
 */
export function iptablesDrift(net: Network, dump: IptablesDump, forwards: ResolvedForward[] = [], dump6?: IptablesDump | null): FirewallDrift {
  const out = chainsDrift(iptablesOurChains(net), iptablesRules(net, forwards), iptablesJumps(net), dump);
  let v6: FirewallDrift | null = null;
  if (net.ipv6) v6 = chainsDrift(ip6tablesOurChains(net), ip6tablesRules(net), ip6tablesJumps(net), dump6 ?? { chains: new Map(), rules: new Map(), strictPolicies: new Map() });
  else if (dump6) v6 = staleIp6tables(net, dump6);
  return v6 && !familyClean(v6) ? { ...out, ipv6: v6 } : out;
}

type NftTableView = Map<string, { hook: string; rules: string[] }>;

function nftFamilyDrift(want: { name: string; hook: string; rules: string[] }[], table: NftTableView | null): FirewallDrift {
  const out: FirewallDrift = { missing: [], extra: [], missingJumps: [], duplicateJumps: [] };
  if (!table) {
    out.missing.push('table (absent)');
    return out;
  }
  for (const ch of want) {
    const got = table.get(ch.name);
    if (!got) {
      out.missing.push(`chain ${ch.name}`);
      continue;
    }
    if (got.hook !== ch.hook) out.missing.push(`chain ${ch.name}: ${ch.hook} (has: ${got.hook})`);
    const d = diffLines(ch.rules, got.rules);
    out.missing.push(...d.missing.map((l) => `${ch.name}: ${l}`));
    out.extra.push(...d.extra.map((l) => `${ch.name}: ${l}`));
  }
  for (const name of table.keys()) if (!want.some((c) => c.name === name)) out.extra.push(`chain ${name}`);
  return out;
}

/**
 * Our nft table (parsed `nft list table`) vs what the network needs; null table = all missing.
 * `table6`: our ip6 table (undefined: not looked at; null: absent). Pure.
 */
export function nftDrift(net: Network, table: NftTableView | null, forwards: ResolvedForward[] = [], table6?: NftTableView | null): FirewallDrift {
  const out = nftFamilyDrift(nftChains(net, forwards), table);
  let v6: FirewallDrift | null = null;
  if (net.ipv6) v6 = nftFamilyDrift(nft6Chains(net), table6 ?? null);
  else if (table6) v6 = { missing: [], extra: [`table ip6 ${nftTable(net)} (the network has no IPv6)`], missingJumps: [], duplicateJumps: [] };
  return v6 && !familyClean(v6) ? { ...out, ipv6: v6 } : out;
}

/** Up to `max` rule changes a refill makes ("+ rule", "- rule"), for plan/up to show; null when there are more (a first apply). */
export function ruleChanges(d: FirewallDrift, max = 12): string | null {
  const fams = driftByFamily(d);
  const lines = fams.flatMap(({ label, drift }) => [...drift.missing.map((l) => `+ ${label}${l}`), ...drift.extra.map((l) => `- ${label}${l}`)]);
  return lines.length === 0 || lines.length > max || fams.some((f) => f.drift.missing.includes('table (absent)')) ? null : lines.join('; ');
}
