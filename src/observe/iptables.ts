import { existsSync, realpathSync } from 'node:fs';
import { type Family, xtablesTool } from '../model/family.js';
import type { Runner } from '../sys/runner.js';

const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

export type IptablesVariant = 'nft' | 'legacy';

/**
 * The iptables variant this host uses, without a process: follow the `iptables` symlink
 * (Debian alternatives, xtables-*-multi). NATNET_HOOK_IPTABLES=nft|legacy overrides it.
 * We then call only `iptables-<variant>-*` binaries and never mix the two.
 */
export function detectIptablesVariant(env = process.env): IptablesVariant | null {
  const forced = env.NATNET_HOOK_IPTABLES;
  if (forced === 'nft' || forced === 'legacy') return forced;
  for (const dir of SBIN) {
    let target: string;
    try {
      target = realpathSync(`${dir}/iptables`);
    } catch {
      continue;
    }
    const variant: IptablesVariant = target.includes('nft') ? 'nft' : 'legacy';
    // we call iptables-<variant>-save/-restore by name: they must exist too
    return SBIN.some((d) => existsSync(`${d}/iptables-${variant}-restore`)) ? variant : null;
  }
  return null;
}

/** Variants whose save/restore binaries exist (a teardown without a trustworthy record cleans each). */
export function availableIptablesVariants(): IptablesVariant[] {
  return (['nft', 'legacy'] as const).filter((v) => ['save', 'restore'].every((t) => SBIN.some((d) => existsSync(`${d}/iptables-${v}-${t}`))));
}

export interface IptablesDump {
  /** table → chain names declared */
  chains: Map<string, Set<string>>;
  /** table → "-A ..." lines in order */
  rules: Map<string, string[]>;
  /** table → built-in chains whose policy is not ACCEPT */
  strictPolicies: Map<string, string[]>;
}

/** `iptables-save` output → chains and rules per table. Pure. */
export function parseIptablesSave(text: string): IptablesDump {
  const chains = new Map<string, Set<string>>();
  const rules = new Map<string, string[]>();
  const strictPolicies = new Map<string, string[]>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1).trim();
      chains.set(table, new Set());
      rules.set(table, []);
      strictPolicies.set(table, []);
    } else if (line.startsWith(':') && table) {
      const [chain, policy] = line.slice(1).split(' ');
      chains.get(table)!.add(chain);
      if (policy !== '-' && policy !== 'ACCEPT') strictPolicies.get(table)!.push(`${chain} ${policy}`);
    }
    else if (line.startsWith('-A ') && table) rules.get(table)!.push(line.trimEnd());
  }
  return { chains, rules, strictPolicies };
}

export async function observeIptables(runner: Runner, variant: IptablesVariant, family: Family = 'ipv4'): Promise<IptablesDump> {
  const r = await runner.run([xtablesTool(family, variant, 'save')], { readOnly: true });
  return parseIptablesSave(r.stdout);
}

/** Tables iptables-nft created that hold nothing now (no rule, every policy ACCEPT): safe to delete. */
export function emptyTables(dump: IptablesDump, candidates: string[]): string[] {
  return candidates.filter(
    (t) => dump.chains.has(t) && (dump.rules.get(t) ?? []).length === 0 && (dump.strictPolicies.get(t) ?? []).length === 0,
  );
}

/** "table CHAIN" entries that exist with no rule and an ACCEPT policy: safe to delete. */
export function emptyChains(dump: IptablesDump, candidates: string[]): string[] {
  return candidates.filter((entry) => {
    const [table, chain] = entry.split(' ');
    return (
      dump.chains.get(table)?.has(chain) &&
      !(dump.rules.get(table) ?? []).some((l) => l.startsWith(`-A ${chain} `)) &&
      !(dump.strictPolicies.get(table) ?? []).some((p) => p.startsWith(`${chain} `))
    );
  });
}

