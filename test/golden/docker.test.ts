/**
 * Golden files for natnet-hook's side of Docker coexistence: the DOCKER-USER restore inputs,
 * plan transcripts with Docker's firewall present (first up, a Docker reset, a bridge rename,
 * down), and the status text.
 */
import { describe, it } from 'vitest';
import { golden } from './golden.js';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { dockerStatus, networkDockerStatus } from '../../src/engine/docker-status.js';
import type { NetworkStatus, StatusReport } from '../../src/engine/status.js';
import type { AppliedRecord } from '../../src/model/applied.js';
import type { Network } from '../../src/model/types.js';
import type { DockerFirewall } from '../../src/observe/docker.js';
import type { LinkState } from '../../src/observe/links.js';
import { nftDrift } from '../../src/plan/firewall-drift.js';
import { planUp, type UpObservation } from '../../src/plan/plan-up.js';
import { planTeardown } from '../../src/plan/plan-teardown.js';
import { describeStep, type Step } from '../../src/plan/steps.js';
import { renderDnsmasqConf } from '../../src/render/dnsmasq.js';
import { dockerUserRules, renderDockerUserRestore } from '../../src/render/docker-user.js';
import { nftChains } from '../../src/render/nft.js';
import { renderStatusText } from '../../src/render/status-text.js';

const [net] = parseMainConfig('[[network]]\nname = "natnet"\nfirewall = "nftables"\n', new Problems('f')).networks;
const paths = { conf: '/run/natnet-hook/dnsmasq/natnet.conf', pid: '/run/natnet-hook/dnsmasq/natnet.pid', hosts: '/run/natnet-hook/dnsmasq/natnet.hosts', leases: '/var/lib/natnet-hook/natnet.leases' };
const HOSTS = '';
const RETURN = '-A DOCKER-USER -j RETURN';

/** Docker's firewall with DOCKER-USER in IPv4 holding `rules`; br_netfilter on. */
function docker(rules: string[], nfCall = true): DockerFirewall {
  return {
    variant: 'nft',
    views: { ipv4: { present: true, rules, forwardPolicy: 'DROP' } },
    unread: [],
    bridgeNfCall: { ipv4: nfCall, ipv6: nfCall },
    nftDockerBridges: false,
  };
}

const bridgeLink = (n: Network): LinkState => ({ name: n.bridge, kind: 'bridge', mac: n.mac, up: true, master: null, addresses: [`${n.gateway}/${n.prefix}`], stp: n.stp, forwardDelay: n.forwardDelay });

function record(n: Network, dockerUser: AppliedRecord['dockerUser']): AppliedRecord {
  return {
    network: n,
    links: { bridges: [{ name: n.bridge, created: true, addresses: [`${n.gateway}/${n.prefix}`] }], dummies: [] },
    firewalls: [{ backend: 'nftables', iptablesVariant: null, bridge: n.bridge }],
    ...(dockerUser ? { dockerUser } : {}),
    dnsmasq: true,
    dummyUnsupported: 'kernel has no dummy netdev',
    appliedAt: '',
  };
}

/** `was` applied with nftables (and our DOCKER-USER accepts when `ours`); `now` is the network wanted. */
function observed(was: Network | null, now: Network, dockerRules: string[]): UpObservation {
  const same = was?.bridge === now.bridge;
  return {
    links: was ? new Map([[was.bridge, bridgeLink(was)]]) : new Map(),
    forwarding: !!was,
    drift: nftDrift(now, same ? new Map(nftChains(now).map((c) => [c.name, { hook: c.hook, rules: c.rules }])) : null),
    confText: was ? renderDnsmasqConf(was, paths) : null,
    hostsText: was ? HOSTS : null,
    dnsmasqPid: was ? 4242 : null,
    record: was ? record(was, [{ family: 'ipv4', iptablesVariant: 'nft', bridge: was.bridge }]) : null,
    oldFirewalls: was && !same ? [{ backend: 'nftables', bridge: was.bridge, tablePresent: true }] : [],
    iptablesNft: null,
    others: [],
    docker: docker(dockerRules),
    oldDockerUser: was && !same ? [{ entry: { family: 'ipv4', iptablesVariant: 'nft', bridge: was.bridge }, view: docker(dockerRules).views.ipv4! }] : [],
  };
}

function stepsText(steps: Step[]): string[] {
  const out: string[] = [];
  for (const s of steps) {
    out.push(`  - ${describeStep(s)}`);
    if (s.kind === 'firewall' && s.input) out.push(...s.input.trimEnd().split('\n').map((l) => `      | ${l}`));
  }
  return out;
}

function transcript(now: Network, o: UpObservation): string {
  const plan = planUp({ net: now, backend: 'nftables', iptablesVariant: null, paths, hostsText: HOSTS, taps: [] }, o);
  const drop = (k: string, v: unknown) => (k === 'network' ? undefined : v);
  return [
    ...stepsText(plan.steps),
    '',
    'record before the first step:',
    JSON.stringify(plan.intended, drop, 2),
    '',
    'record after the last step:',
    JSON.stringify(plan.target, drop, 2),
    '',
  ].join('\n');
}

const V6NET: Network = {
  ...net,
  ipv6: { auto: false, gateway: 'fd00:1:2:3::1', prefix: 64, subnet: 'fd00:1:2:3::', mode: 'nat66', dhcpv6: 'stateless', dhcpStart: null, dhcpEnd: null, fixAcceptRa: false },
};
const ours = (bridge: string) => dockerUserRules({ ...net, bridge }, 'ipv4', true);

describe('golden: Docker coexistence', () => {
  it('DOCKER-USER lines, bridge-nf-call on and off', () =>
    golden('docker-user.rules.txt', [...dockerUserRules(net, 'ipv4', true), '', ...dockerUserRules(net, 'ipv4', false), '', ...dockerUserRules({ ...net, outbound: 'eth0' }, 'ipv4', false), '', ...dockerUserRules(V6NET, 'ipv6', true), ''].join('\n')));
  it('restore input: add, and remove', () =>
    golden(
      'docker-user.restore.ipt',
      renderDockerUserRestore('ipv4', 'allow natnet', [], ours('virbr10')) + renderDockerUserRestore('ipv6', 'remove natnet', ours('virbr10'), []),
    ));

  const renamed = { ...net, bridge: 'virbr11', dummy: 'virbr11-nic' };
  const cases: [string, Network | null, Network, string[]][] = [
    ['docker-first-up', null, net, [RETURN]],
    ['docker-reset-repaired', net, net, [RETURN]],
    ['docker-ours-below-return', net, net, [RETURN, ...ours('virbr10')]],
    ['docker-bridge-rename', net, renamed, [...ours('virbr10'), RETURN]],
  ];
  for (const [name, was, now, rules] of cases) it(`plan: ${name}`, () => golden(`plans/${name}.txt`, transcript(now, observed(was, now, rules))));

  it('plan: down removes exactly our lines', () => {
    const view = docker([...ours('virbr10'), ...ours('virbr12'), RETURN]).views.ipv4!;
    const t = planTeardown(record(net, [{ family: 'ipv4', iptablesVariant: 'nft', bridge: 'virbr10' }]), paths, {
      links: new Map(),
      firewalls: [],
      dnsmasqPids: [],
      dockerUser: [{ entry: { family: 'ipv4', iptablesVariant: 'nft', bridge: 'virbr10' }, view }],
    });
    golden('plans/docker-down.txt', `${stepsText(t.steps).join('\n')}\n`);
  });

  it('status text: Docker found, our accepts present and missing', () => {
    const fw = docker([RETURN]);
    const n = networkDockerStatus(net, fw);
    const network: NetworkStatus = {
      name: 'natnet',
      state: 'degraded',
      applied: true,
      configChanged: [],
      autostart: true,
      backend: 'nftables',
      backendWhy: 'configured: nftables',
      bridge: { name: 'virbr10', exists: true, up: true, mac: net.mac, wantMac: net.mac, addresses: ['192.168.100.1/24'], wantAddress: '192.168.100.1/24', stp: false, forwardDelay: 0, ports: [] },
      dummy: { name: null, state: 'disabled', why: 'dummy = false in config' },
      forwarding: true,
      firewall: { ok: true, unchecked: null, missing: [], extra: [], missingJumps: [], duplicateJumps: [] },
      dnsmasq: { pid: 777, alive: true, listening: ['udp 192.168.100.1:53'], hostsfileCurrent: true },
      reservations: [],
      pending: [],
      leases: [],
      docker: n.docker,
      ipv6: null,
      problems: n.problems,
    };
    const present = { ...network, state: 'healthy' as const, docker: networkDockerStatus(net, docker([...ours('virbr10'), RETURN])).docker, problems: [] };
    const report: StatusReport = {
      schemaVersion: 1,
      healthy: false,
      autoRule: 'auto = ...',
      networks: [present, network],
      listener: null,
      configWarnings: [],
      unconfigured: [],
      badRecords: [],
      docker: dockerStatus(fw),
    };
    golden('status-docker.txt', renderStatusText(report));
  });
});
