import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';
import type { IptablesDump } from '../observe/iptables.js';
import { iptablesJumps, iptablesOurChains, iptablesRules } from '../render/iptables.js';
import { nftChains } from '../render/nft.js';

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
}

export function isClean(d: FirewallDrift): boolean {
  return d.missing.length === 0 && d.extra.length === 0 && d.missingJumps.length === 0 && d.duplicateJumps.length === 0;
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

/** Our chains and jumps in an iptables-save dump vs what the network needs. Pure. */
export function iptablesDrift(net: Network, dump: IptablesDump, forwards: ResolvedForward[] = []): FirewallDrift {
  const ours = iptablesOurChains(net);
  const want = iptablesRules(net, forwards);
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
  for (const j of iptablesJumps(net)) {
    const line = `-A ${j.from} -j ${j.to}`;
    const n = (dump.rules.get(j.table) ?? []).filter((l) => l === line).length;
    if (n === 0) out.missingJumps.push(j);
    for (let i = 1; i < n; i++) out.duplicateJumps.push(j);
  }
  return out;
}

/** Our nft table (parsed `nft list table`) vs what the network needs; null table = all missing. Pure. */
export function nftDrift(net: Network, table: Map<string, { hook: string; rules: string[] }> | null, forwards: ResolvedForward[] = []): FirewallDrift {
  const out: FirewallDrift = { missing: [], extra: [], missingJumps: [], duplicateJumps: [] };
  const want = nftChains(net, forwards);
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

/** Up to `max` rule changes a refill makes ("+ rule", "- rule"), for plan/up to show; null when there are more (a first apply). */
export function ruleChanges(d: FirewallDrift, max = 12): string | null {
  const lines = [...d.missing.map((l) => `+ ${l}`), ...d.extra.map((l) => `- ${l}`)];
  return lines.length === 0 || lines.length > max || d.missing.includes('table (absent)') ? null : lines.join('; ');
}
