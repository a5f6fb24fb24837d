import type { AppliedRecord, Backend, HostChanges } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { xtablesTool } from '../model/family.js';
import { emptyChains, emptyTables, type IptablesDump } from '../observe/iptables.js';
import type { LinkState } from '../observe/links.js';
import type { DnsmasqPaths } from '../render/dnsmasq.js';
import { ip6tablesJumps, ip6tablesOurChains, iptablesJumps, iptablesOurChains, renderIptablesRemoval } from '../render/iptables.js';
import { renderNftRemoval } from '../render/nft.js';
import { type DockerUserFound, planDockerUserRemoval } from './docker-user.js';
import { notOurLink } from './ownership.js';
import type { Step } from './steps.js';
import type { BridgeSysctl6 } from '../observe/ipv6.js';
import { ipv6ConfKey } from '../sys/sysctl.js';
import { bridgeAddress6 } from '../net/ipv6.js';

/** One firewall backend as found on the host, for our rules of one bridge. */
export type FirewallFound =
  | { backend: 'nftables'; bridge: string; tablePresent: boolean; table6Present?: boolean }
  /** dump6: the same variant's ip6tables-save (null: unreadable or not looked at). */
  | { backend: 'iptables'; bridge: string; variant: 'nft' | 'legacy'; dump: IptablesDump; dump6?: IptablesDump | null };

export interface TeardownObservation {
  links: Map<string, LinkState>;
  /** The backends to clean (per bridge): the record's, or every available one when the record was bad. */
  firewalls: FirewallFound[];
  /** Our dnsmasq processes, found by their --conf-file in /proc. */
  dnsmasqPids: number[];
  /** Our accepts in Docker's DOCKER-USER (the record's entries, or every family and variant when it was bad). */
  dockerUser?: DockerUserFound[];
  /** The saved IPv6 sysctls of the record's adopted bridges that exist now, by bridge (absent: none readable). */
  bridgeSysctls6?: Map<string, Partial<Record<BridgeSysctl6, string>>>;
}

export interface Teardown {
  steps: Step[];
  /** What stays, and why (a link that is not what we created, a fact no record vouches for). */
  left: string[];
}

/**
 * Remove what the record says `up` applied; the lease database stays. Paths are the layout's
 * (never the record's), and a link is deleted only when it is the kind and MAC we created. Pure.
 */
export function planTeardown(rec: AppliedRecord, paths: DnsmasqPaths, o: TeardownObservation): Teardown {
  const net = rec.network;
  const links = planLinkRemoval(rec, o.links, o.bridgeSysctls6 ?? new Map());
  return {
    steps: [
      ...o.dnsmasqPids.map((pid): Step => ({ kind: 'dnsmasq-stop', why: `stop dnsmasq of ${net.name}`, pid, conf: paths.conf })),
      ...o.firewalls.flatMap((f) => planFirewallRemoval(net, f)),
      ...(o.dockerUser ?? []).flatMap((f) => planDockerUserRemoval(net.name, f)),
      ...links.steps,
      ...planFileRemoval(paths),
    ],
    left: links.left,
  };
}

/** The dnsmasq runtime files of a network (conf, hosts, pid); the lease database stays. */
export function planFileRemoval(paths: DnsmasqPaths): Step[] {
  return [paths.conf, paths.hosts, paths.pid].map((path): Step => ({ kind: 'remove-file', why: 'dnsmasq runtime file', path }));
}

/** Our nft tables (ip, ip6), or our iptables and ip6tables jumps and chains (all derived from the bridge name f.bridge). */
export function planFirewallRemoval(network: Network, f: FirewallFound): Step[] {
  const net = { ...network, bridge: f.bridge };
  if (f.backend === 'nftables') {
    const families = { ip: f.tablePresent, ip6: !!f.table6Present };
    if (!families.ip && !families.ip6) return [];
    return [{ kind: 'firewall', why: `remove nft ${families.ip6 ? (families.ip ? 'tables' : 'ip6 table') : 'table'} of ${net.name}`, argv: ['nft', '-f', '-'], input: renderNftRemoval(net, families) }];
  }
  const dump = f.dump;
  const jumps = presentJumps(iptablesJumps(net), dump);
  const chains = iptablesOurChains(net).filter((x) => dump.chains.get(x.table)?.has(x.chain));
  const v4: Step[] =
    jumps.length === 0 && chains.length === 0
      ? []
      : [
          {
            kind: 'firewall',
            why: `remove iptables rules of ${net.name}`,
            argv: [xtablesTool('ipv4', f.variant, 'restore'), '-w', '--noflush'],
            input: renderIptablesRemoval(net, jumps, chains),
          },
        ];
  return [...v4, ...ip6tablesRemoval(net, f.variant, f.dump6 ?? null)];
}

/** Each of our jumps as often as the dump has it (a duplicate is deleted too). */
function presentJumps(jumps: { table: string; from: string; to: string }[], dump: IptablesDump) {
  return jumps.flatMap((j) => {
    const n = (dump.rules.get(j.table) ?? []).filter((l) => l === `-A ${j.from} -j ${j.to}`).length;
    return Array.from({ length: n }, () => j);
  });
}

/** Our ip6tables jumps and chains of net.bridge that the dump has, removed in one restore (nothing when none). */
export function ip6tablesRemoval(net: Network, variant: 'nft' | 'legacy', dump6: IptablesDump | null, reason?: string): Step[] {
  if (!dump6) return [];
  const jumps = presentJumps(ip6tablesJumps(net), dump6);
  const chains = ip6tablesOurChains(net).filter((x) => dump6.chains.get(x.table)?.has(x.chain));
  if (jumps.length === 0 && chains.length === 0) return [];
  return [
    {
      kind: 'firewall',
      why: `remove ip6tables rules of ${net.name}${reason ? ` (${reason})` : ''}`,
      argv: [xtablesTool('ipv6', variant, 'restore'), '-w', '--noflush'],
      input: renderIptablesRemoval(net, jumps, chains),
    },
  ];
}

function planLinkRemoval(rec: AppliedRecord, links: Map<string, LinkState>, sysctls6: Map<string, Partial<Record<BridgeSysctl6, string>>>): Teardown {
  const lines: string[] = [];
  const left: string[] = [];
  for (const d of rec.links.dummies) {
    const r = removeLink(d.name, 'dummy', d.created, [], rec.network.mac, links);
    lines.push(...r.lines);
    left.push(...r.left);
  }
  const restore: Step[] = [];
  for (const b of rec.links.bridges) {
    const r = removeLink(b.name, 'bridge', b.created, b.addresses, rec.network.mac, links);
    lines.push(...r.lines);
    left.push(...r.left);
    // a bridge that stays (not ours to delete) gets back the IPv6 settings that exist and differ
    if (links.get(b.name)?.kind === 'bridge' && !r.lines.includes(`link del ${b.name}`)) {
      const now = sysctls6.get(b.name) ?? {};
      for (const [key, was] of Object.entries(b.sysctls6 ?? {}) as [BridgeSysctl6, string][]) {
        const current = now[key];
        if (current === undefined || current === was) continue;
        restore.push({ kind: 'sysctl', why: `put back IPv6 setting of bridge ${b.name}`, key: ipv6ConfKey(b.name, key), value: was, was: current, ifExists: true });
      }
    }
  }
  return { steps: [...(lines.length ? [{ kind: 'ip-batch', why: `remove links of ${rec.network.name}`, lines } as Step] : []), ...restore], left };
}

/**
 * `ip -batch` lines that remove one link of a record: deleted when we created it and it is still
 * our kind with our pinned MAC; else only the addresses we added go. Pure.
 */
export function removeLink(
  name: string,
  kind: 'bridge' | 'dummy',
  created: boolean,
  addresses: string[],
  pinnedMac: string,
  links: Map<string, LinkState>,
): { lines: string[]; left: string[] } {
  const link = links.get(name);
  if (!link) return { lines: [], left: [] };
  const notOurs = notOurLink(link, kind, pinnedMac);
  if (created && !notOurs) return { lines: [`link del ${name}`], left: [] };
  const left = created ? [`left ${name}: ${notOurs}`] : [];
  if (link.kind !== kind) return { lines: [], left };
  return { lines: addresses.filter((a) => link.addresses.includes(a)).map((a) => `addr del ${a} dev ${name}`), left };
}

/**
 * What a network's `down` may remove when its applied record was bad: everything `up` could
 * have created, each item only on the evidence that it is ours (names derived from the config;
 * links of our kind with our pinned MAC). The teardown's link checks then decide. Pure.
 */
export function recordFromEvidence(net: Network, backend: Backend, iptablesVariant: 'nft' | 'legacy' | null): AppliedRecord {
  return {
    network: net,
    links: {
      bridges: [{ name: net.bridge, created: true, addresses: [`${net.gateway}/${net.prefix}`, ...(net.ipv6 ? [bridgeAddress6(net.ipv6)] : [])] }],
      dummies: net.dummy ? [{ name: net.dummy, created: true }] : [],
    },
    firewalls: [{ backend, iptablesVariant, bridge: net.bridge }],
    dnsmasq: true,
    dummyUnsupported: null,
    appliedAt: '',
  };
}

/**
 * The iptables dump as it will be once our rules of `bridge` are removed (its jumps and chains):
 * what decides, before anything runs, whether tables iptables-nft created for us are empty then. Pure.
 */
export function dumpWithoutOurRules(dump: IptablesDump, bridge: string): IptablesDump {
  const ours = new Set(iptablesOurChains({ bridge }).map((c) => c.chain));
  const jumps = new Set(iptablesJumps({ bridge }).map((j) => `-A ${j.from} -j ${j.to}`));
  const rules = new Map<string, string[]>();
  for (const [t, ls] of dump.rules) rules.set(t, ls.filter((l) => !jumps.has(l) && !ours.has(l.split(' ')[1])));
  const chains = new Map<string, Set<string>>();
  for (const [t, cs] of dump.chains) chains.set(t, new Set([...cs].filter((x) => !ours.has(x))));
  return { chains, rules, strictPolicies: dump.strictPolicies };
}

/**
 * iptables-nft creates the `ip nat`/`ip filter` tables and built-in chains it needs (ip6tables-nft
 * the `ip6` ones: family ip6); those that
 * up created are removed again once nothing is in them, so the ruleset ends as it began.
 * Emptiness comes from iptables-save (rules, policies); existence from nft itself, because
 * iptables-nft-save also prints built-in chains that do not exist. Pure.
 */
export function planIptablesNftLeftovers(
  changes: Pick<HostChanges, 'iptablesTablesCreated' | 'iptablesChainsCreated'>,
  dump: IptablesDump,
  existing: { tables: Set<string>; chains: Set<string> },
  family: 'ip' | 'ip6' = 'ip',
): Step[] {
  const tables = emptyTables(dump, changes.iptablesTablesCreated).filter((t) => existing.tables.has(t));
  const chains = emptyChains(dump, changes.iptablesChainsCreated).filter((c) => existing.chains.has(c) && !tables.includes(c.split(' ')[0]));
  const step = (what: string, argv: string[], onlyIfEmpty: string): Step => ({
    kind: 'firewall',
    why: `remove empty ${family === 'ip6' ? 'ip6tables' : 'iptables'}-nft ${what} that up created`,
    argv,
    input: '',
    // someone (firewalld) may remove it first; that is no reason for down to fail
    tolerateFailure: true,
    onlyIfEmpty,
  });
  return [
    ...tables.map((t) => step(`table ${t}`, ['nft', 'delete', 'table', family, t], t)),
    ...chains.map((c) => step(`chain ${c}`, ['nft', 'delete', 'chain', family, ...c.split(' ')], c)),
  ];
}
