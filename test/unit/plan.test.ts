import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { AppliedRecord } from '../../src/model/applied.js';
import { parseIptablesSave } from '../../src/observe/iptables.js';
import type { LinkState } from '../../src/observe/links.js';
import { iptablesDrift, nftDrift } from '../../src/plan/firewall-drift.js';
import type { DesiredNetwork, NetworkObservation } from '../../src/plan/plan-network.js';
import { planUp, type UpObservation } from '../../src/plan/plan-up.js';
import type { Step } from '../../src/plan/steps.js';
import { type FirewallFound, planIptablesNftLeftovers, planTeardown, recordFromEvidence } from '../../src/plan/plan-teardown.js';
import { renderDnsmasqConf } from '../../src/render/dnsmasq.js';
import { renderIptablesRestore } from '../../src/render/iptables.js';

const [net] = parseMainConfig('', new Problems('f')).networks;
const paths = { conf: '/r/n.conf', pid: '/r/n.pid', hosts: '/r/n.hosts', leases: '/l/n.leases' };
const desired = { net, backend: 'iptables' as const, iptablesVariant: 'nft' as const, paths, hostsText: '' };

/** iptables-save text of a host where our rules are fully applied. */
function appliedDump(extra = '') {
  return appliedDumpOf(net, extra);
}

function appliedDumpOf(n: typeof net, extra = '') {
  const restore = renderIptablesRestore(n);
  const lines = restore.split('\n');
  const jumps = lines.filter((l) => l.startsWith('-I ')).map((l) => l.replace(/^-I (\S+) 1/, '-A $1'));
  const body = lines.filter((l) => l.startsWith('-A ') || l.startsWith(':'));
  const isNat = (l: string) => /NATNET-(POST|DNAT)-/.test(l);
  const nat = body.filter(isNat);
  const filter = body.filter((l) => !isNat(l));
  return `*nat\n:POSTROUTING ACCEPT [0:0]\n${nat.filter((l) => l.startsWith(':')).join('\n')}\n${jumps.filter(isNat).join('\n')}\n${nat.filter((l) => l.startsWith('-A')).join('\n')}\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\n${filter.filter((l) => l.startsWith(':')).join('\n')}\n${jumps.filter((j) => !isNat(j)).join('\n')}\n${filter.filter((l) => l.startsWith('-A')).join('\n')}\n${extra}COMMIT\n`;
}

/** The plan of an up with no old firewall, no other network on the bridge. */
const planNetwork = (d: DesiredNetwork, o: NetworkObservation) => planUp(d, { ...o, oldFirewalls: [], iptablesNft: null, others: [] }).steps;

/** What up records for the default network (no dummy: the kernel lacks it). */
const appliedNow = (over: Partial<AppliedRecord> = {}): AppliedRecord => ({
  network: net,
  links: { bridges: [{ name: 'virbr10', created: true, addresses: ['192.168.100.1/24'] }], dummies: [] },
  firewalls: [{ backend: 'iptables', iptablesVariant: 'nft', bridge: 'virbr10' }],
  dnsmasq: true,
  dummyUnsupported: 'no dummy',
  appliedAt: '',
  ...over,
});

const bridge: LinkState = { name: 'virbr10', kind: 'bridge', mac: net.mac, up: true, master: null, addresses: ['192.168.100.1/24'], stp: false, forwardDelay: 0 };

function healthy(): NetworkObservation {
  return {
    links: new Map([['virbr10', bridge]]),
    forwarding: true,
    drift: iptablesDrift(net, parseIptablesSave(appliedDump())),
    confText: renderDnsmasqConf(net, paths),
    hostsText: '',
    dnsmasqPid: 42,
    record: appliedNow(),
  };
}

describe('planner', () => {
  it('nothing to do when everything matches', () => {
    expect(planNetwork(desired, healthy())).toEqual([]);
  });

  it('from nothing: bridge, dummy, forwarding, rules, dnsmasq, in that order', () => {
    const o: NetworkObservation = {
      links: new Map(),
      forwarding: false,
      drift: iptablesDrift(net, parseIptablesSave('')),
      confText: null,
      hostsText: null,
      dnsmasqPid: null,
      record: null,
    };
    const steps = planNetwork(desired, o);
    expect(steps.map((s) => s.kind)).toEqual(['ip-batch', 'dummy-create', 'forwarding', 'firewall', 'write-file', 'write-file', 'dnsmasq-start']);
    expect(steps[0]).toMatchObject({ lines: [
      'link add virbr10 address 52:54:00:7e:27:af type bridge forward_delay 0 stp_state 0',
      'addr add 192.168.100.1/24 dev virbr10',
      'link set virbr10 up',
    ] });
  });

  it('a deleted rule is refilled, jumps are not re-added', () => {
    const text = appliedDump().replace(/^-A NATNET-FWD-virbr10 -i virbr10 -o virbr10 -j ACCEPT\n/m, '');
    const o = { ...healthy(), drift: iptablesDrift(net, parseIptablesSave(text)) };
    const [step] = planNetwork(desired, o);
    expect(step.kind).toBe('firewall');
    if (step.kind !== 'firewall') return;
    expect(step.input).not.toMatch(/^-I /m);
    expect(step.input).toMatch(/^-A NATNET-FWD-virbr10 -i virbr10 -o virbr10 -j ACCEPT$/m);
  });

  it('duplicate jumps are deleted, missing jump inserted', () => {
    const text = appliedDump().replace('-A FORWARD -j NATNET-FWD-virbr10', '-A FORWARD -j NATNET-FWD-virbr10\n-A FORWARD -j NATNET-FWD-virbr10').replace('-A INPUT -j NATNET-INP-virbr10\n', '');
    const drift = iptablesDrift(net, parseIptablesSave(text));
    expect(drift.duplicateJumps).toEqual([{ table: 'filter', from: 'FORWARD', to: 'NATNET-FWD-virbr10' }]);
    expect(drift.missingJumps).toEqual([{ table: 'filter', from: 'INPUT', to: 'NATNET-INP-virbr10' }]);
  });

  it('a foreign rule in our chain is reported and removed by the refill', () => {
    const drift = iptablesDrift(net, parseIptablesSave(appliedDump('-A NATNET-FWD-virbr10 -j DROP\n')));
    expect(drift.extra).toEqual(['filter -A NATNET-FWD-virbr10 -j DROP']);
  });

  it('changed reservations only reload dnsmasq (SIGHUP), config change restarts it', () => {
    expect(planNetwork({ ...desired, hostsText: 'x\n' }, healthy()).map((s) => s.kind)).toEqual(['write-file', 'dnsmasq-reload']);
    expect(planNetwork(desired, { ...healthy(), confText: 'old' }).map((s) => s.kind)).toEqual(['write-file', 'dnsmasq-stop', 'dnsmasq-start']);
    expect(planNetwork(desired, { ...healthy(), dnsmasqPid: null }).map((s) => s.kind)).toEqual(['dnsmasq-start']);
  });

  it('a recreated bridge gets the taps of running VMs back, never a foreign link', () => {
    const o: NetworkObservation = { ...healthy(), links: new Map() };
    o.links.set('vnet3', { name: 'vnet3', kind: 'tun', mac: 'fe:54:00:aa:bb:01', up: true, master: null, addresses: [] });
    o.links.set('vnet4', { name: 'vnet4', kind: 'tun', mac: 'fe:54:00:99:99:99', up: true, master: 'other', addresses: [] });
    const taps = [
      { name: 'vnet3', mac: '52:54:00:aa:bb:01' },
      { name: 'vnet4', mac: '52:54:00:aa:bb:02' },
    ];
    const [batch] = planNetwork({ ...desired, taps }, o);
    expect(batch).toMatchObject({ kind: 'ip-batch' });
    if (batch.kind === 'ip-batch') {
      // the taps join before the bridge opens: it opens with carrier, its queue ready at once
      expect(batch.lines.slice(-2)).toEqual(['link set vnet3 master virbr10', 'link set virbr10 up']);
      expect(batch.lines.join()).not.toMatch(/vnet4/);
    }
  });

  it('a dummy we created under an old name (renamed or disabled) is deleted', () => {
    const o = healthy();
    o.links.set('old-nic', { name: 'old-nic', kind: 'dummy', mac: net.mac, up: true, master: 'virbr10', addresses: [] });
    const stale = (name: string) => appliedNow({ links: { bridges: appliedNow().links.bridges, dummies: [{ name, created: true }] } });
    const [batch] = planNetwork(desired, { ...o, record: stale('old-nic') });
    expect(batch).toMatchObject({ kind: 'ip-batch', lines: ['link del old-nic'] });
    expect(planNetwork(desired, { ...healthy(), record: stale('gone-nic') })).toEqual([]);
  });

  it('a stale dummy name that is now some other link (a veth, another MAC) is never deleted', () => {
    const o = healthy();
    o.links.set('old-nic', { name: 'old-nic', kind: 'veth', mac: net.mac, up: true, master: null, addresses: [] });
    o.record = appliedNow({ links: { bridges: appliedNow().links.bridges, dummies: [{ name: 'old-nic', created: true }] } });
    expect(planNetwork(desired, o)).toEqual([]);
    o.links.set('old-nic', { name: 'old-nic', kind: 'dummy', mac: '52:54:00:00:00:01', up: true, master: null, addresses: [] });
    expect(planNetwork(desired, o)).toEqual([]);
  });

  it('a non-bridge link with our name is a conflict, not silently reused', () => {
    const o = healthy();
    o.links.set('virbr10', { ...bridge, kind: 'veth' });
    expect(() => planNetwork(desired, o)).toThrow(/virbr10 exists and is a veth/);
  });

  const record = (over: Partial<AppliedRecord> = {}): AppliedRecord => appliedNow({ dummyUnsupported: 'x', ...over });
  const iptablesFound = (): FirewallFound[] => [{ backend: 'iptables', bridge: 'virbr10', variant: 'nft', dump: parseIptablesSave(appliedDump()) }];

  it('teardown removes what the record says, and keeps the lease file', () => {
    const t = planTeardown(record(), paths, { links: new Map([['virbr10', bridge]]), firewalls: iptablesFound(), dnsmasqPids: [42] });
    expect(t.steps.map((s) => s.kind)).toEqual(['dnsmasq-stop', 'firewall', 'ip-batch', 'remove-file', 'remove-file', 'remove-file']);
    expect(t.steps[0]).toMatchObject({ pid: 42, conf: paths.conf });
    expect(t.steps.some((s) => s.kind === 'remove-file' && s.path === paths.leases)).toBe(false);
    const fw = t.steps[1];
    if (fw.kind === 'firewall') expect(fw.input).toMatch(/-D FORWARD -j NATNET-FWD-virbr10\n/);
    expect(t.left).toEqual([]);
  });

  it('files removed are the layout paths given, never paths a record names', () => {
    const tampered = { ...record(), dnsmasq: { conf: '/etc/passwd', pid: '/etc/shadow', hosts: '/etc/hosts', leases: '/x' } } as unknown as AppliedRecord;
    const t = planTeardown(tampered, paths, { links: new Map(), firewalls: [], dnsmasqPids: [] });
    expect(t.steps.flatMap((s) => (s.kind === 'remove-file' ? [s.path] : []))).toEqual([paths.conf, paths.hosts, paths.pid]);
  });

  it('a bridge that existed before up is left in place, only our address goes', () => {
    const rec = record({
      firewalls: [{ backend: 'nftables', iptablesVariant: null, bridge: 'virbr10' }],
      links: { bridges: [{ name: 'virbr10', created: false, addresses: ['192.168.100.1/24'] }], dummies: [] },
    });
    const t = planTeardown(rec, paths, { links: new Map([['virbr10', bridge]]), firewalls: [{ backend: 'nftables', bridge: 'virbr10', tablePresent: true }], dnsmasqPids: [] });
    expect(t.steps.find((s) => s.kind === 'ip-batch')).toMatchObject({ lines: ['addr del 192.168.100.1/24 dev virbr10'] });
  });

  it('a link the record names is deleted only when it is our kind with our pinned MAC', () => {
    const veth: LinkState = { ...bridge, kind: 'veth', addresses: ['192.168.100.1/24'] };
    let t = planTeardown(record(), paths, { links: new Map([['virbr10', veth]]), firewalls: [], dnsmasqPids: [] });
    expect(t.steps.some((s) => s.kind === 'ip-batch')).toBe(false);
    expect(t.left).toEqual(['left virbr10: it is a veth, not the bridge we created']);
    t = planTeardown(record(), paths, { links: new Map([['virbr10', { ...bridge, mac: '52:54:00:00:00:01' }]]), firewalls: [], dnsmasqPids: [] });
    expect(t.steps.find((s) => s.kind === 'ip-batch')).toMatchObject({ lines: ['addr del 192.168.100.1/24 dev virbr10'] });
    expect(t.left[0]).toMatch(/its MAC 52:54:00:00:00:01 is not the 52:54:00:7e:27:af we pinned/);
    const dummy: LinkState = { name: 'virbr10-nic', kind: 'veth', mac: net.mac, up: true, master: 'virbr10', addresses: [] };
    t = planTeardown(record({ links: { bridges: record().links.bridges, dummies: [{ name: 'virbr10-nic', created: true }] } }), paths, { links: new Map([['virbr10', bridge], ['virbr10-nic', dummy]]), firewalls: [], dnsmasqPids: [] });
    expect(t.steps.find((s) => s.kind === 'ip-batch')).toMatchObject({ lines: ['link del virbr10'] });
    expect(t.left).toEqual(['left virbr10-nic: it is a veth, not the dummy we created']);
  });

  it('a record made from evidence claims everything; the link checks decide', () => {
    const rec = recordFromEvidence(net, 'nftables', null);
    expect(rec.links).toEqual({
      bridges: [{ name: 'virbr10', created: true, addresses: ['192.168.100.1/24'] }],
      dummies: [{ name: 'virbr10-nic', created: true }],
    });
    const t = planTeardown(rec, paths, {
      links: new Map([['virbr10', bridge]]),
      firewalls: [{ backend: 'nftables', bridge: 'virbr10', tablePresent: true }, ...iptablesFound()],
      dnsmasqPids: [7, 8],
    });
    expect(t.steps.map((s) => s.kind)).toEqual(['dnsmasq-stop', 'dnsmasq-stop', 'firewall', 'firewall', 'ip-batch', 'remove-file', 'remove-file', 'remove-file']);
  });

  it('iptables-nft tables up created are deleted once empty, never while in use', () => {
    const changes = { iptablesTablesCreated: ['nat', 'filter'] as ('nat' | 'filter')[], iptablesChainsCreated: [] };
    const existing = { tables: new Set(['nat', 'filter']), chains: new Set<string>() };
    const empty = parseIptablesSave('*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n');
    expect(planIptablesNftLeftovers(changes, empty, existing).map((s) => (s.kind === 'firewall' ? s.argv.join(' ') : ''))).toEqual([
      'nft delete table ip nat',
      'nft delete table ip filter',
    ]);
    expect(planIptablesNftLeftovers(changes, parseIptablesSave(appliedDump()), existing)).toEqual([]);
  });
});

describe('reconcile per component (planUp)', () => {
  const linkOf = (name: string, addresses: string[], kind = 'bridge', mac = net.mac): LinkState => ({ name, kind, mac, up: true, master: null, addresses, stp: false, forwardDelay: 0 });
  const observed = (over: Partial<UpObservation> = {}): UpObservation => ({
    links: new Map([['virbr10', linkOf('virbr10', ['192.168.100.1/24'])]]),
    forwarding: true,
    drift: iptablesDrift(net, parseIptablesSave(appliedDumpOf(net))),
    confText: renderDnsmasqConf(net, paths),
    hostsText: '',
    dnsmasqPid: 42,
    record: appliedNow(),
    oldFirewalls: [],
    iptablesNft: null,
    others: [],
    ...over,
  });
  const batchLines = (steps: Step[]) => steps.flatMap((s) => (s.kind === 'ip-batch' ? s.lines : []));

  it('a new gateway in the same subnet and prefix: the old address goes first (the new one would be its secondary)', () => {
    const moved = { ...net, gateway: '192.168.100.2' };
    const plan = planUp({ ...desired, net: moved }, observed());
    expect(batchLines(plan.steps).slice(0, 2)).toEqual(['addr del 192.168.100.1/24 dev virbr10', 'addr add 192.168.100.2/24 dev virbr10']);
    expect(plan.intended.links.bridges[0].addresses).toEqual(['192.168.100.1/24', '192.168.100.2/24']);
    expect(plan.target.links.bridges[0].addresses).toEqual(['192.168.100.2/24']);
  });

  it('a rename whose old bridge is not ours: our address leaves it, the bridge stays, with a note', () => {
    const renamed = { ...net, bridge: 'virbr11' };
    const o = observed({ links: new Map([['virbr10', linkOf('virbr10', ['192.168.100.1/24'], 'bridge', '52:54:00:00:00:09')]]) });
    const plan = planUp({ ...desired, net: renamed }, { ...o, drift: iptablesDrift(renamed, parseIptablesSave('')) });
    expect(batchLines(plan.steps)).toContain('addr del 192.168.100.1/24 dev virbr10');
    expect(batchLines(plan.steps)).not.toContain('link del virbr10');
    expect(plan.notes).toEqual(['left virbr10: its MAC 52:54:00:00:00:09 is not the 52:54:00:7e:27:af we pinned']);
    expect(plan.target.links.bridges.map((b) => b.name)).toEqual(['virbr11']);
  });

  it('a rename within iptables-nft never removes the nat/filter tables (the new chains live there)', () => {
    const renamed = { ...net, bridge: 'virbr11' };
    const dump = parseIptablesSave(appliedDumpOf(net));
    const plan = planUp(
      { ...desired, net: renamed },
      observed({
        drift: iptablesDrift(renamed, parseIptablesSave('')),
        oldFirewalls: [{ backend: 'iptables', bridge: 'virbr10', variant: 'nft', dump }],
        iptablesNft: { changes: { enabledForwarding: false, iptablesTablesCreated: ['nat', 'filter'], iptablesChainsCreated: [] }, dump, existing: { tables: new Set(['nat', 'filter']), chains: new Set() } },
      }),
    );
    expect(plan.steps.map((s) => s.why)).toEqual([
      'create bridge virbr11',
      'apply iptables rules of natnet',
      'move ports and address of virbr10 to virbr11',
      'dnsmasq config',
      'dnsmasq config changed',
      'restart dnsmasq for natnet',
      'remove iptables rules of natnet',
      'remove old links of natnet',
    ]);
  });

  it('a switch to nftables removes the tables iptables-nft created only when nothing else is in them', () => {
    const dump = parseIptablesSave(appliedDumpOf(net, '-A FORWARD -j DOCKER\n'));
    const o = observed({
      drift: nftDrift(net, null),
      oldFirewalls: [{ backend: 'iptables', bridge: 'virbr10', variant: 'nft', dump }],
      iptablesNft: { changes: { enabledForwarding: false, iptablesTablesCreated: ['nat', 'filter'], iptablesChainsCreated: [] }, dump, existing: { tables: new Set(['nat', 'filter']), chains: new Set() } },
    });
    const plan = planUp({ ...desired, backend: 'nftables', iptablesVariant: null }, o);
    expect(plan.steps.map((s) => (s.kind === 'firewall' ? s.argv.join(' ') : s.kind))).toEqual(['nft -f -', 'iptables-nft-restore -w --noflush', 'nft delete table ip nat']);
    expect(plan.intended.firewalls).toEqual([
      { backend: 'iptables', iptablesVariant: 'nft', bridge: 'virbr10' },
      { backend: 'nftables', iptablesVariant: null, bridge: 'virbr10' },
    ]);
    expect(plan.target.firewalls).toEqual([{ backend: 'nftables', iptablesVariant: null, bridge: 'virbr10' }]);
  });

  it('nothing changed: no step, and the record stays what it is', () => {
    const plan = planUp(desired, observed());
    expect(plan.steps).toEqual([]);
    expect(plan.target).toEqual(appliedNow());
  });

  it('a tap whose VM record names a bridge replaced earlier is taken only while detached', () => {
    const tap = (master: string | null): LinkState => ({ name: 'vnet3', kind: 'tun', mac: 'fe:54:00:aa:bb:01', up: true, master, addresses: [] });
    const taps = [{ name: 'vnet3', mac: '52:54:00:aa:bb:01', onlyIfDetached: true }];
    const on = (master: string | null) => observed({ links: new Map([['virbr10', linkOf('virbr10', ['192.168.100.1/24'])], ['vnet3', tap(master)]]) });
    expect(batchLines(planUp({ ...desired, taps }, on(null)).steps)).toEqual(['link set vnet3 master virbr10']);
    expect(planUp({ ...desired, taps }, on('someones-br')).steps).toEqual([]);
  });

  it('a rename remembers the old name (to find the VMs whose XML names it), never to delete it', () => {
    const renamed = { ...net, bridge: 'virbr11' };
    const plan = planUp({ ...desired, net: renamed }, observed({ drift: iptablesDrift(renamed, parseIptablesSave('')) }));
    expect(plan.target.links.bridges).toEqual([{ name: 'virbr11', created: true, addresses: ['192.168.100.1/24'], replaced: ['virbr10'] }]);
  });
});
