import type { AppliedRecord } from '../model/applied.js';
import { emptyChains, emptyTables, type IptablesDump } from '../observe/iptables.js';
import type { LinkState } from '../observe/links.js';
import { renderIptablesRemoval } from '../render/iptables.js';
import { iptablesChains } from '../render/names.js';
import { iptablesJumps } from '../render/iptables.js';
import { renderNftRemoval } from '../render/nft.js';
import type { Step } from './steps.js';

export interface TeardownObservation {
  links: Map<string, LinkState>;
  iptables: IptablesDump | null;
  nftTablePresent: boolean;
  dnsmasqPid: number | null;
}

/** Remove exactly what the record says `up` applied; the lease database stays. Pure. */
export function planTeardown(rec: AppliedRecord, o: TeardownObservation): Step[] {
  const net = rec.network;
  const steps: Step[] = [];
  if (o.dnsmasqPid !== null) steps.push({ kind: 'dnsmasq-stop', why: `stop dnsmasq of ${net.name}`, pid: o.dnsmasqPid });
  if (rec.backend === 'nftables' && o.nftTablePresent) {
    steps.push({ kind: 'firewall', why: `remove nft table of ${net.name}`, argv: ['nft', '-f', '-'], input: renderNftRemoval(net) });
  }
  if (rec.backend === 'iptables' && o.iptables) {
    const dump = o.iptables;
    const jumps = iptablesJumps(net).flatMap((j) => {
      const n = (dump.rules.get(j.table) ?? []).filter((l) => l === `-A ${j.from} -j ${j.to}`).length;
      return Array.from({ length: n }, () => j);
    });
    const c = iptablesChains(net);
    const chains = [
      { table: 'nat', chain: c.post },
      { table: 'filter', chain: c.fwd },
      { table: 'filter', chain: c.inp },
    ].filter((x) => dump.chains.get(x.table)?.has(x.chain));
    if (jumps.length || chains.length) {
      steps.push({
        kind: 'firewall',
        why: `remove iptables rules of ${net.name}`,
        argv: [`iptables-${rec.iptablesVariant}-restore`, '-w', '--noflush'],
        input: renderIptablesRemoval(net, jumps, chains),
      });
    }
  }
  const lines: string[] = [];
  if (rec.dummy?.created && o.links.has(rec.dummy.name)) lines.push(`link del ${rec.dummy.name}`);
  const br = o.links.get(net.bridge);
  if (br && rec.createdBridge) lines.push(`link del ${net.bridge}`);
  else if (rec.address && br?.addresses.includes(rec.address)) lines.push(`addr del ${rec.address} dev ${net.bridge}`);
  if (lines.length) steps.push({ kind: 'ip-batch', why: `remove links of ${net.name}`, lines });
  for (const path of [rec.dnsmasq.conf, rec.dnsmasq.hosts, rec.dnsmasq.pid]) {
    steps.push({ kind: 'remove-file', why: 'dnsmasq runtime file', path });
  }
  return steps;
}

/**
 * iptables-nft creates the `ip nat`/`ip filter` tables and built-in chains it needs; what our
 * first up created is removed again once nothing is in it, so the ruleset ends as it began.
 * Emptiness comes from iptables-save (rules, policies); existence from nft itself, because
 * iptables-nft-save also prints built-in chains that do not exist. Pure.
 */
export function planIptablesNftLeftovers(
  rec: AppliedRecord,
  dump: IptablesDump,
  existing: { tables: Set<string>; chains: Set<string> },
): Step[] {
  const tables = emptyTables(dump, rec.iptablesTablesCreated ?? []).filter((t) => existing.tables.has(t));
  const chains = emptyChains(dump, rec.iptablesChainsCreated ?? []).filter((c) => existing.chains.has(c) && !tables.includes(c.split(' ')[0]));
  const step = (what: string, argv: string[]): Step => ({
    kind: 'firewall',
    why: `remove empty iptables-nft ${what} that up created`,
    argv,
    input: '',
    // someone (firewalld) may remove it first; that is no reason for down to fail
    tolerateFailure: true,
  });
  return [
    ...tables.map((t) => step(`table ${t}`, ['nft', 'delete', 'table', 'ip', t])),
    ...chains.map((c) => step(`chain ${c}`, ['nft', 'delete', 'chain', 'ip', ...c.split(' ')])),
  ];
}
