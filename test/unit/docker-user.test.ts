import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { dockerStatus, dockerStatusLine, networkDockerStatus } from '../../src/engine/docker-status.js';
import { unionRecords, type AppliedRecord } from '../../src/model/applied.js';
import { bridgeNfCall, type DockerFirewall, dockerUserOf, hasDockerBridgesTable } from '../../src/observe/docker.js';
import { parseIptablesSave } from '../../src/observe/iptables.js';
import { dockerUserDrift, keptDockerUser, planDockerUser, planDockerUserRemoval, staleDockerUser, wantedDockerUser } from '../../src/plan/docker-user.js';
import { dockerUserRules, taggedBridge } from '../../src/render/docker-user.js';
import { appliedRecord, SchemaError } from '../../src/state/schema.js';

const [net] = parseMainConfig('[[network]]\nname = "natnet"\n', new Problems('f')).networks;
const RETURN = '-A DOCKER-USER -j RETURN';
const rulesOf = (bridge: string, nfCall: boolean) => dockerUserRules({ ...net, bridge }, 'ipv4', nfCall);
const ours = rulesOf('virbr10', true);

const fw = (rules: string[] | null, extra: Partial<DockerFirewall> = {}): DockerFirewall => ({
  variant: 'nft',
  views: rules ? { ipv4: { present: true, rules, forwardPolicy: 'DROP' } } : {},
  unread: [],
  bridgeNfCall: { ipv4: true, ipv6: false },
  nftDockerBridges: false,
  ...extra,
});

describe('reading Docker\'s firewall', () => {
  it('finds DOCKER-USER, its rules and the FORWARD policy in iptables-save output', () => {
    const dump = parseIptablesSave(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':DOCKER-USER - [0:0]', '-A FORWARD -j DOCKER-USER', ...ours, RETURN, 'COMMIT', ''].join('\n'));
    expect(dockerUserOf(dump)).toEqual({ present: true, rules: [...ours, RETURN], forwardPolicy: 'DROP' });
    expect(dockerUserOf(parseIptablesSave('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'))).toEqual({ present: false, rules: [], forwardPolicy: 'ACCEPT' });
    expect(dockerUserOf(parseIptablesSave(''))).toEqual({ present: false, rules: [], forwardPolicy: null });
  });
  it('finds the docker-bridges nft table in any family', () => {
    expect(hasDockerBridgesTable('table inet filter\ntable ip docker-bridges\n')).toBe(true);
    expect(hasDockerBridgesTable('table ip6 docker-bridges')).toBe(true);
    expect(hasDockerBridgesTable('table ip natnet_virbr10\ntable ip docker-bridges-x\n')).toBe(false);
  });
  it('bridge-nf-call: "1" is on; 0, absent (no br_netfilter) or garbage is off', () => {
    const files: Record<string, string> = { '/proc/sys/net/bridge/bridge-nf-call-iptables': '1\n', '/proc/sys/net/bridge/bridge-nf-call-ip6tables': '0\n' };
    expect(bridgeNfCall('ipv4', (p) => files[p] ?? null)).toBe(true);
    expect(bridgeNfCall('ipv6', (p) => files[p] ?? null)).toBe(false);
    expect(bridgeNfCall('ipv4', () => null)).toBe(false);
  });
  it('a line is ours by its tag, and only for that bridge', () => {
    expect(taggedBridge(ours[0])).toBe('virbr10');
    expect(taggedBridge(RETURN)).toBeNull();
    expect(taggedBridge('-A DOCKER-USER -i x -m comment --comment "natnet-hookery virbr10" -j ACCEPT')).toBeNull();
  });
});

describe('our accepts in DOCKER-USER', () => {
  it('are wanted only where DOCKER-USER exists, in the families the network uses', () => {
    expect(wantedDockerUser(net, fw([RETURN]))).toEqual([{ family: 'ipv4', iptablesVariant: 'nft', bridge: 'virbr10' }]);
    expect(wantedDockerUser(net, fw(null))).toEqual([]);
    expect(wantedDockerUser(net, { ...fw([RETURN]), variant: null })).toEqual([]);
    // an IPv4-only network never touches ip6tables' DOCKER-USER
    expect(wantedDockerUser(net, fw(null, { views: { ipv6: { present: true, rules: [], forwardPolicy: 'DROP' } } }))).toEqual([]);
  });
  it('drift: missing, below a foreign rule, duplicated, no longer wanted', () => {
    expect(dockerUserDrift('ipv4', 'virbr10', ours, { present: true, rules: [...ours, RETURN], forwardPolicy: 'DROP' })).toEqual({ family: 'ipv4', missing: [], extra: [], misplaced: false });
    expect(dockerUserDrift('ipv4', 'virbr10', ours, { present: true, rules: [RETURN], forwardPolicy: 'DROP' }).missing).toEqual(ours);
    expect(dockerUserDrift('ipv4', 'virbr10', ours, { present: true, rules: [RETURN, ...ours], forwardPolicy: 'DROP' }).misplaced).toBe(true);
    expect(dockerUserDrift('ipv4', 'virbr10', ours, { present: true, rules: [ours[1], ...ours, RETURN], forwardPolicy: 'DROP' }).extra).toEqual([ours[1]]);
    const without = rulesOf('virbr10', false);
    expect(dockerUserDrift('ipv4', 'virbr10', without, { present: true, rules: [...ours, RETURN], forwardPolicy: 'DROP' }).extra).toEqual([ours[0]]);
    // another network's accepts above ours are fine; another bridge's lines are never ours
    const other = rulesOf('virbr11', true);
    expect(dockerUserDrift('ipv4', 'virbr10', ours, { present: true, rules: [...other, ...ours, RETURN], forwardPolicy: 'DROP' }).misplaced).toBe(false);
  });
  it('plan: nothing when in place; one restore that deletes ours and inserts the wanted set otherwise', () => {
    expect(planDockerUser(net, fw([...ours, RETURN]))).toEqual([]);
    const [step] = planDockerUser(net, fw([RETURN, ...ours]));
    expect(step.kind === 'firewall' && step.argv).toEqual(['iptables-nft-restore', '-w', '--noflush']);
    expect(step.kind === 'firewall' && step.input.split('\n').filter((l) => /^-[DI] /.test(l)).length).toBe(6);
  });
  it('removal deletes only lines tagged with the entry\'s bridge', () => {
    const other = rulesOf('virbr11', true);
    const [step] = planDockerUserRemoval('natnet', { entry: { family: 'ipv6', iptablesVariant: 'legacy', bridge: 'virbr10' }, view: { present: true, rules: [...other, ...ours, RETURN], forwardPolicy: 'DROP' } });
    expect(step.kind === 'firewall' && step.argv[0]).toBe('ip6tables-legacy-restore');
    expect(step.kind === 'firewall' && step.input).not.toContain('virbr11');
    expect(planDockerUserRemoval('natnet', { entry: { family: 'ipv4', iptablesVariant: 'nft', bridge: 'virbr10' }, view: null })).toEqual([]);
  });
  it('stale entries: another bridge, variant or family', () => {
    const now = [{ family: 'ipv4' as const, iptablesVariant: 'nft' as const, bridge: 'virbr11' }];
    const rec = [{ family: 'ipv4' as const, iptablesVariant: 'nft' as const, bridge: 'virbr10' }, now[0]];
    expect(staleDockerUser(rec, now)).toEqual([rec[0]]);
  });
  it('a family that could not be read (no ip6tables now): its recorded entry is neither stale nor dropped from the record', () => {
    const v6 = { family: 'ipv6' as const, iptablesVariant: 'nft' as const, bridge: 'virbr10' };
    const v4 = { family: 'ipv4' as const, iptablesVariant: 'nft' as const, bridge: 'virbr10' };
    expect(staleDockerUser([v4, v6], [v4], ['ipv6'])).toEqual([]);
    expect(keptDockerUser([v4, v6], [v4], ['ipv6'])).toEqual([v4, v6]);
    expect(keptDockerUser([v4, v6], [v4], [])).toEqual([v4]);
  });
});

describe('the applied record', () => {
  const base = (dockerUser?: unknown) => ({
    network: net,
    links: { bridges: [], dummies: [] },
    firewalls: [],
    ...(dockerUser === undefined ? {} : { dockerUser }),
    dnsmasq: true,
    dummyUnsupported: null,
    appliedAt: '',
  });
  it('reads dockerUser back validated; absent (older records) is none', () => {
    const entry = { family: 'ipv4', iptablesVariant: 'nft', bridge: 'virbr10' };
    expect(appliedRecord(base([entry]), 'natnet').dockerUser).toEqual([entry]);
    expect(appliedRecord(base(), 'natnet').dockerUser).toBeUndefined();
    expect(() => appliedRecord(base([{ ...entry, bridge: '../../etc' }]), 'natnet')).toThrow(SchemaError);
    expect(() => appliedRecord(base([{ ...entry, family: 'ipx' }]), 'natnet')).toThrow(SchemaError);
  });
  it('a union keeps every entry either record claims', () => {
    const a = { ...base([{ family: 'ipv4', iptablesVariant: 'nft', bridge: 'virbr10' }]) } as AppliedRecord;
    const b = { ...base([{ family: 'ipv4', iptablesVariant: 'nft', bridge: 'virbr11' }]) } as AppliedRecord;
    expect(unionRecords(a, b).dockerUser?.map((e) => e.bridge)).toEqual(['virbr10', 'virbr11']);
    expect(unionRecords(base() as AppliedRecord, base() as AppliedRecord).dockerUser).toBeUndefined();
  });
});

describe('status', () => {
  it('says what it found and what natnet-hook does; not found is no line', () => {
    expect(dockerStatus(fw([RETURN]))).toMatchObject({ found: true, families: [{ family: 'ipv4', dockerUser: true, forwardPolicy: 'DROP', bridgeNfCall: true }] });
    expect(dockerStatusLine(dockerStatus(fw(null)))).toBeNull();
    expect(dockerStatusLine(dockerStatus(fw(null, { nftDockerBridges: true })))).toMatch(/docker-bridges present; no DOCKER-USER chain: natnet-hook adds nothing/);
    expect(dockerStatusLine(dockerStatus(fw(null, { unread: ['ipv4', 'ipv6'] })))).toBe('docker: not checked: iptables, ip6tables rules not readable (run status as root)');
  });
  it('a network: present, or a problem naming the fix', () => {
    expect(networkDockerStatus(net, fw([...ours, RETURN]))).toEqual({ docker: [{ family: 'ipv4', state: 'present', missing: [], extra: [] }], problems: [] });
    const bad = networkDockerStatus(net, fw([RETURN, ...ours]));
    expect(bad.docker[0].state).toBe('misplaced');
    expect(bad.problems[0]).toMatch(/natnet-hook up/);
  });
});
