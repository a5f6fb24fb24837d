import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { AppliedRecord } from '../../src/model/applied.js';
import { parseIptablesSave } from '../../src/observe/iptables.js';
import type { LinkState } from '../../src/observe/links.js';
import { iptablesDrift } from '../../src/plan/firewall-drift.js';
import { type NetworkObservation, planNetwork } from '../../src/plan/plan-network.js';
import { type FirewallFound, planIptablesNftLeftovers, planTeardown, recordFromEvidence } from '../../src/plan/plan-teardown.js';
import { renderDnsmasqConf } from '../../src/render/dnsmasq.js';
import { renderIptablesRestore } from '../../src/render/iptables.js';

const [net] = parseMainConfig('', new Problems('f')).networks;
const paths = { conf: '/r/n.conf', pid: '/r/n.pid', hosts: '/r/n.hosts', leases: '/l/n.leases' };
const desired = { net, backend: 'iptables' as const, iptablesVariant: 'nft' as const, paths, hostsText: '' };

/** iptables-save text of a host where our rules are fully applied. */
function appliedDump(extra = '') {
  const restore = renderIptablesRestore(net);
  const lines = restore.split('\n');
  const jumps = lines.filter((l) => l.startsWith('-I ')).map((l) => l.replace(/^-I (\S+) 1/, '-A $1'));
  const body = lines.filter((l) => l.startsWith('-A ') || l.startsWith(':'));
  const isNat = (l: string) => /NATNET-(POST|DNAT)-/.test(l);
  const nat = body.filter(isNat);
  const filter = body.filter((l) => !isNat(l));
  return `*nat\n:POSTROUTING ACCEPT [0:0]\n${nat.filter((l) => l.startsWith(':')).join('\n')}\n${jumps.filter(isNat).join('\n')}\n${nat.filter((l) => l.startsWith('-A')).join('\n')}\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\n${filter.filter((l) => l.startsWith(':')).join('\n')}\n${jumps.filter((j) => !isNat(j)).join('\n')}\n${filter.filter((l) => l.startsWith('-A')).join('\n')}\n${extra}COMMIT\n`;
}

const bridge: LinkState = { name: 'virbr10', kind: 'bridge', mac: net.mac, up: true, master: null, addresses: ['192.168.100.1/24'], stp: false, forwardDelay: 0 };

function healthy(): NetworkObservation {
  return {
    links: new Map([['virbr10', bridge]]),
    forwarding: true,
    drift: iptablesDrift(net, parseIptablesSave(appliedDump())),
    confText: renderDnsmasqConf(net, paths),
    hostsText: '',
    dnsmasqPid: 42,
    record: { dummyUnsupported: 'no dummy' } as AppliedRecord,
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
      expect(batch.lines.at(-1)).toBe('link set vnet3 master virbr10');
      expect(batch.lines.join()).not.toMatch(/vnet4/);
    }
  });

  it('a dummy we created under an old name (renamed or disabled) is deleted', () => {
    const o = healthy();
    o.links.set('old-nic', { name: 'old-nic', kind: 'dummy', mac: net.mac, up: true, master: 'virbr10', addresses: [] });
    const [batch] = planNetwork({ ...desired, staleDummy: { name: 'old-nic', mac: net.mac } }, o);
    expect(batch).toMatchObject({ kind: 'ip-batch', lines: ['link del old-nic'] });
    expect(planNetwork({ ...desired, staleDummy: { name: 'gone-nic', mac: net.mac } }, healthy())).toEqual([]);
  });

  it('a stale dummy name that is now some other link (a veth, another MAC) is never deleted', () => {
    const o = healthy();
    o.links.set('old-nic', { name: 'old-nic', kind: 'veth', mac: net.mac, up: true, master: null, addresses: [] });
    expect(planNetwork({ ...desired, staleDummy: { name: 'old-nic', mac: net.mac } }, o)).toEqual([]);
    o.links.set('old-nic', { name: 'old-nic', kind: 'dummy', mac: '52:54:00:00:00:01', up: true, master: null, addresses: [] });
    expect(planNetwork({ ...desired, staleDummy: { name: 'old-nic', mac: net.mac } }, o)).toEqual([]);
  });

  it('a non-bridge link with our name is a conflict, not silently reused', () => {
    const o = healthy();
    o.links.set('virbr10', { ...bridge, kind: 'veth' });
    expect(() => planNetwork(desired, o)).toThrow(/virbr10 exists and is a veth/);
  });

  const record = (over: Partial<AppliedRecord> = {}): AppliedRecord => ({
    network: net,
    backend: 'iptables',
    iptablesVariant: 'nft',
    createdBridge: true,
    address: '192.168.100.1/24',
    dummy: null,
    dummyUnsupported: 'x',
    appliedAt: '',
    ...over,
  });
  const iptablesFound = (): FirewallFound[] => [{ backend: 'iptables', variant: 'nft', dump: parseIptablesSave(appliedDump()) }];

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
    const tampered = { ...record(), dnsmasq: { conf: '/etc/passwd', pid: '/etc/shadow', hosts: '/etc/hosts', leases: '/x' } } as AppliedRecord;
    const t = planTeardown(tampered, paths, { links: new Map(), firewalls: [], dnsmasqPids: [] });
    expect(t.steps.flatMap((s) => (s.kind === 'remove-file' ? [s.path] : []))).toEqual([paths.conf, paths.hosts, paths.pid]);
  });

  it('a bridge that existed before up is left in place, only our address goes', () => {
    const rec = record({ backend: 'nftables', iptablesVariant: null, createdBridge: false });
    const t = planTeardown(rec, paths, { links: new Map([['virbr10', bridge]]), firewalls: [{ backend: 'nftables', tablePresent: true }], dnsmasqPids: [] });
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
    t = planTeardown(record({ dummy: { name: 'virbr10-nic', created: true } }), paths, { links: new Map([['virbr10', bridge], ['virbr10-nic', dummy]]), firewalls: [], dnsmasqPids: [] });
    expect(t.steps.find((s) => s.kind === 'ip-batch')).toMatchObject({ lines: ['link del virbr10'] });
    expect(t.left).toEqual(['left virbr10-nic: it is a veth, not the dummy we created']);
  });

  it('a record made from evidence claims everything; the link checks decide', () => {
    const rec = recordFromEvidence(net, 'nftables', null);
    expect(rec).toMatchObject({ createdBridge: true, address: '192.168.100.1/24', dummy: { name: 'virbr10-nic', created: true } });
    const t = planTeardown(rec, paths, {
      links: new Map([['virbr10', bridge]]),
      firewalls: [{ backend: 'nftables', tablePresent: true }, ...iptablesFound()],
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
