/** The IPv6 side of the firewall: drift, the plan's apply/repair/removal steps, teardown. Pure. */
import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { Ipv6Mode, Network } from '../../src/model/types.js';
import { type IptablesDump, parseIptablesSave } from '../../src/observe/iptables.js';
import { driftByFamily, iptablesDrift, isClean, nftDrift, ruleChanges } from '../../src/plan/firewall-drift.js';
import { type DesiredNetwork, type NetworkObservation, planFirewall } from '../../src/plan/plan-network.js';
import { planFirewallRemoval } from '../../src/plan/plan-teardown.js';
import { planUp } from '../../src/plan/plan-up.js';
import { mergeHostChanges } from '../../src/engine/records.js';
import { hostChanges } from '../../src/state/schema.js';
import { renderIp6tablesRestore, renderIptablesRestore } from '../../src/render/iptables.js';
import { nft6Chains, nftChains } from '../../src/render/nft.js';

const [base] = parseMainConfig('', new Problems('f')).networks;
const v6 = (mode: Ipv6Mode): Network => ({
  ...base,
  ipv6: { auto: false, gateway: 'fd00:1:2:3::1', prefix: 64, subnet: 'fd00:1:2:3::', mode, dhcpv6: 'stateless', dhcpStart: null, dhcpEnd: null, fixAcceptRa: false },
});

/** The save output of a host where this restore input was applied (jumps appended like -I 1 on empty chains). */
function dumpAfter(...inputs: string[]): IptablesDump {
  const tables = new Map<string, { chains: string[]; rules: string[] }>();
  let t = '';
  for (const l of inputs.join('\n').split('\n')) {
    if (l.startsWith('*')) {
      t = l.slice(1);
      if (!tables.has(t)) tables.set(t, { chains: [], rules: [] });
    } else if (l.startsWith(':')) tables.get(t)!.chains.push(l);
    else if (l.startsWith('-A ')) tables.get(t)!.rules.push(l);
    else if (l.startsWith('-I ')) tables.get(t)!.rules.unshift(l.replace(/^-I (\S+) 1/, '-A $1'));
  }
  return parseIptablesSave([...tables].flatMap(([name, x]) => [`*${name}`, ...x.chains, ...x.rules, 'COMMIT']).join('\n'));
}

const EMPTY = parseIptablesSave('');
const obs = (drift: NetworkObservation['drift'], ip6tablesDump: IptablesDump | null = null): NetworkObservation => ({
  links: new Map(),
  forwarding: true,
  drift,
  ip6tablesDump,
  confText: null,
  hostsText: null,
  dnsmasqPid: null,
  record: null,
});
const desired = (net: Network, backend: 'iptables' | 'nftables'): DesiredNetwork => ({
  net,
  backend,
  iptablesVariant: backend === 'iptables' ? 'nft' : null,
  paths: { conf: '/c', pid: '/p', hosts: '/h', leases: '/l' },
  hostsText: '',
});
const table = (chains: { name: string; hook: string; rules: string[] }[]) => new Map(chains.map((c) => [c.name, { hook: c.hook, rules: c.rules }]));

describe('ip6tables', () => {
  const net = v6('nat66');
  const v4 = dumpAfter(renderIptablesRestore(net));

  it('applied rules in both families are clean; an IPv4-only network with no IPv6 rules has no IPv6 drift', () => {
    expect(isClean(iptablesDrift(net, v4, [], dumpAfter(renderIp6tablesRestore(net))))).toBe(true);
    expect(iptablesDrift(base, v4, [], EMPTY).ipv6).toBeUndefined();
    expect(iptablesDrift(base, v4, [], null).ipv6).toBeUndefined();
  });

  it('missing IPv6 rules: only an ip6tables-restore of the same variant is planned, with every jump', () => {
    const drift = iptablesDrift(net, v4, [], EMPTY);
    expect(drift.missing).toEqual([]);
    expect(drift.ipv6?.missingJumps.map((j) => `${j.table} ${j.from}`)).toEqual(['nat POSTROUTING', 'filter FORWARD', 'filter INPUT']);
    const steps = planFirewall(desired(net, 'iptables'), obs(drift, EMPTY));
    expect(steps.map((s) => s.kind === 'firewall' && s.argv)).toEqual([['ip6tables-nft-restore', '-w', '--noflush']]);
    expect(steps[0].kind === 'firewall' && steps[0].input).toBe(renderIp6tablesRestore(net));
  });

  it('a mode change (nat66 → routed) is drift: the masquerade lines are extra, a refill repairs them', () => {
    const routed = v6('routed');
    const drift = iptablesDrift(routed, v4, [], dumpAfter(renderIp6tablesRestore(net)));
    expect(drift.ipv6?.extra).toHaveLength(4);
    expect(drift.ipv6?.missing).toEqual([]);
    const [step] = planFirewall(desired(routed, 'iptables'), obs(drift));
    expect(step.why).toMatch(/^repair ip6tables rules of natnet \[- nat -A NATNET-POST-virbr10 -s fd00:1:2:3::\/64 -d ff02::\/16 -j RETURN;/);
  });

  it('IPv6 turned off: our IPv6 jumps and chains are drift, and the plan removes exactly them', () => {
    const dump6 = dumpAfter(renderIp6tablesRestore(net), '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT');
    const drift = iptablesDrift(base, v4, [], dump6);
    expect(driftByFamily(drift).map((f) => f.label)).toEqual(['', 'ip6 ']);
    expect(drift.ipv6?.extra).toContain('filter chain NATNET-FWD-virbr10 (the network has no IPv6)');
    const steps = planFirewall(desired(base, 'iptables'), obs(drift, dump6));
    expect(steps).toHaveLength(1);
    const s = steps[0];
    expect(s.kind === 'firewall' && s.argv[0]).toBe('ip6tables-nft-restore');
    expect(s.why).toBe('remove ip6tables rules of natnet (the network has no IPv6)');
    expect(s.kind === 'firewall' && s.input).not.toContain('-A FORWARD -j ACCEPT');
    expect(s.kind === 'firewall' && s.input).toContain('-D FORWARD -j NATNET-FWD-virbr10');
  });

  it('IPv6 turned off under iptables-nft: the ip6 tables up created go after our rules, when empty then', () => {
    const dump6 = dumpAfter(renderIp6tablesRestore(net));
    const drift = iptablesDrift(base, v4, [], dump6);
    const existing = { tables: new Set(['nat', 'filter']), chains: new Set<string>() };
    const up = (changes: { tables: ('nat' | 'filter')[]; chains: string[] }, dump = dump6) =>
      planUp(desired(base, 'iptables'), { ...obs(drift, dump), oldFirewalls: [], iptablesNft: null, iptablesNft6: { changes, dump, existing }, others: [] })
        .steps.filter((s) => s.kind === 'firewall')
        .map((s) => (s.kind === 'firewall' ? s.argv.join(' ') : ''));
    expect(up({ tables: ['nat', 'filter'], chains: [] })).toEqual(['ip6tables-nft-restore -w --noflush', 'nft delete table ip6 nat', 'nft delete table ip6 filter']);
    // someone else's rule in ip6 filter: that table stays
    const shared = dumpAfter(renderIp6tablesRestore(net), '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT');
    expect(up({ tables: ['nat', 'filter'], chains: [] }, shared)).toEqual(['ip6tables-nft-restore -w --noflush', 'nft delete table ip6 nat']);
  });

  it('IPv6 turned off: the write-ahead record keeps the IPv6 side until the removal succeeded', () => {
    const rec = { network: net, links: { bridges: [], dummies: [] }, firewalls: [{ backend: 'iptables' as const, iptablesVariant: 'nft' as const, bridge: net.bridge }], dnsmasq: true, dummyUnsupported: null, appliedAt: '' };
    const dump6 = dumpAfter(renderIp6tablesRestore(net));
    const plan = planUp(desired(base, 'iptables'), { ...obs(iptablesDrift(base, v4, [], dump6), dump6), record: rec, oldFirewalls: [], iptablesNft: null, others: [] });
    expect(plan.intended.network.ipv6).toEqual(net.ipv6);
    expect(plan.target.network.ipv6).toBeNull();
  });

  it('teardown removes both families, only what is there', () => {
    const steps = planFirewallRemoval(net, { backend: 'iptables', bridge: net.bridge, variant: 'legacy', dump: v4, dump6: dumpAfter(renderIp6tablesRestore(net)) });
    expect(steps.map((s) => s.kind === 'firewall' && s.argv[0])).toEqual(['iptables-legacy-restore', 'ip6tables-legacy-restore']);
    expect(planFirewallRemoval(net, { backend: 'iptables', bridge: net.bridge, variant: 'legacy', dump: v4, dump6: EMPTY })).toHaveLength(1);
    expect(planFirewallRemoval(net, { backend: 'iptables', bridge: net.bridge, variant: 'legacy', dump: EMPTY, dump6: null })).toEqual([]);
  });
});

describe('nftables', () => {
  const net = v6('nat66');
  const t4 = table(nftChains(net));

  it('both tables as rendered are clean; routed has no nat chain', () => {
    expect(isClean(nftDrift(net, t4, [], table(nft6Chains(net))))).toBe(true);
    expect(nft6Chains(v6('routed')).map((c) => c.name)).toEqual(['filter_fwd', 'filter_inp']);
    expect(nftDrift(base, t4, [], null).ipv6).toBeUndefined();
  });

  it('a missing ip6 table: one nft transaction replacing both tables', () => {
    const drift = nftDrift(net, t4, [], null);
    expect(drift.ipv6?.missing).toEqual(['table (absent)']);
    expect(ruleChanges(drift)).toBeNull();
    const [step] = planFirewall(desired(net, 'nftables'), obs(drift));
    expect(step.kind === 'firewall' && step.input).toMatch(/table ip natnet_virbr10 \{[\s\S]*table ip6 natnet_virbr10 \{/);
  });

  it('IPv6 turned off: the ip6 table goes in the same transaction that keeps the ip one', () => {
    const drift = nftDrift(base, t4, [], table(nft6Chains(net)));
    expect(drift.ipv6?.extra).toEqual(['table ip6 natnet_virbr10 (the network has no IPv6)']);
    const [step] = planFirewall(desired(base, 'nftables'), obs(drift));
    expect(step.kind === 'firewall' && step.input.endsWith('table ip6 natnet_virbr10\ndelete table ip6 natnet_virbr10\n')).toBe(true);
    expect(step.kind === 'firewall' && step.input).toContain('table ip natnet_virbr10 {');
  });

  it('teardown removes the ip6 table with the ip one, or alone', () => {
    const both = planFirewallRemoval(net, { backend: 'nftables', bridge: net.bridge, tablePresent: true, table6Present: true });
    expect(both.map((s) => s.kind === 'firewall' && s.input)).toEqual([
      'table ip natnet_virbr10\ndelete table ip natnet_virbr10\ntable ip6 natnet_virbr10\ndelete table ip6 natnet_virbr10\n',
    ]);
    const only6 = planFirewallRemoval(net, { backend: 'nftables', bridge: net.bridge, tablePresent: false, table6Present: true });
    expect(only6.map((s) => s.kind === 'firewall' && s.input)).toEqual(['table ip6 natnet_virbr10\ndelete table ip6 natnet_virbr10\n']);
  });
});

describe('host changes: ip6tables-nft tables up created', () => {
  const v4only = { enabledForwarding: false, iptablesTablesCreated: ['nat' as const], iptablesChainsCreated: [] };
  it('are validated, and a file written before IPv6 has none', () => {
    expect(hostChanges(v4only).ip6tablesCreated).toBeUndefined();
    expect(hostChanges({ ...v4only, ip6tablesCreated: { tables: ['filter'], chains: ['nat POSTROUTING'] } }).ip6tablesCreated).toEqual({ tables: ['filter'], chains: ['nat POSTROUTING'] });
    expect(() => hostChanges({ ...v4only, ip6tablesCreated: { tables: ['raw'], chains: [] } })).toThrow('.ip6tablesCreated.tables[0]');
    // there is no DNAT jump in ip6tables, so no nat PREROUTING chain of ours either
    expect(() => hostChanges({ ...v4only, ip6tablesCreated: { tables: [], chains: ['nat PREROUTING'] } })).toThrow('.ip6tablesCreated.chains[0]');
  });
  it('merge like the IPv4 ones (claims only grow)', () => {
    const merged = mergeHostChanges({ ...v4only, ip6tablesCreated: { tables: ['nat'], chains: [] } }, { ...v4only, ip6tablesCreated: { tables: ['filter'], chains: [] } });
    expect(merged.ip6tablesCreated).toEqual({ tables: ['nat', 'filter'], chains: [] });
    expect(mergeHostChanges(v4only, v4only).ip6tablesCreated).toBeUndefined();
  });
});
