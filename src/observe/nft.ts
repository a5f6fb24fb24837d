import type { Runner } from '../sys/runner.js';

/** Rule lines per chain of `nft list table` text (handles and counters stripped). Pure. */
export function parseNftTable(text: string): Map<string, { hook: string; rules: string[] }> {
  const chains = new Map<string, { hook: string; rules: string[] }>();
  let current: { hook: string; rules: string[] } | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/\s+# handle \d+$/, '');
    const m = /^chain (\S+) \{$/.exec(line);
    if (m) {
      current = { hook: '', rules: [] };
      chains.set(m[1], current);
    } else if (line === '}') current = null;
    else if (current && line.startsWith('type ')) current.hook = line;
    else if (current && line) current.rules.push(line.replace(/ counter packets \d+ bytes \d+/, ''));
  }
  return chains;
}

/** Our table's chains (family ip, or ip6 for the IPv6 side), or null when the table does not exist. */
export async function observeNftTable(runner: Runner, table: string, family: 'ip' | 'ip6' = 'ip') {
  const r = await runner.run(['nft', 'list', 'table', family, table], { readOnly: true, allowFailure: true });
  return r.code === 0 ? parseNftTable(r.stdout) : null;
}

/** Tables and "table CHAIN" names of family ip (or ip6) that exist in the kernel (iptables-nft-save shows built-in chains that do not). */
export async function observeIpChains(runner: Runner, family: 'ip' | 'ip6' = 'ip'): Promise<{ tables: Set<string>; chains: Set<string> }> {
  const r = await runner.run(['nft', '-j', 'list', 'chains', family], { readOnly: true, allowFailure: true });
  const tables = new Set<string>();
  const chains = new Set<string>();
  if (r.code !== 0) return { tables, chains };
  for (const item of (JSON.parse(r.stdout) as { nftables?: { chain?: { table: string; name: string } }[] }).nftables ?? []) {
    if (!item.chain) continue;
    tables.add(item.chain.table);
    chains.add(`${item.chain.table} ${item.chain.name}`);
  }
  return { tables, chains };
}
