/**
 * Golden plan transcripts: what `plan` (and so `up`) does for the golden cases, rendered from
 * pure planning with fixed observations (no I/O), like libvirt's golden firewall command
 * transcripts. Each lists the steps as plan prints them, every firewall step's input, the notes,
 * and the applied record before the first step (write-ahead) and after the last.
 */
import { describe, it } from 'vitest';
import { golden } from './golden.js';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { AppliedRecord } from '../../src/model/applied.js';
import type { Network } from '../../src/model/types.js';
import { parseIptablesSave } from '../../src/observe/iptables.js';
import type { LinkState } from '../../src/observe/links.js';
import { iptablesDrift, nftDrift } from '../../src/plan/firewall-drift.js';
import type { DesiredNetwork } from '../../src/plan/plan-network.js';
import { planUp, type UpObservation } from '../../src/plan/plan-up.js';
import { describeStep } from '../../src/plan/steps.js';
import { renderDnsmasqConf } from '../../src/render/dnsmasq.js';
import { renderIptablesRestore } from '../../src/render/iptables.js';
import { nftChains } from '../../src/render/nft.js';

const [base] = parseMainConfig('[[network]]\nname = "natnet"\nfirewall = "iptables"\n', new Problems('f')).networks;
const paths = { conf: '/run/natnet-hook/dnsmasq/natnet.conf', pid: '/run/natnet-hook/dnsmasq/natnet.pid', hosts: '/run/natnet-hook/dnsmasq/natnet.hosts', leases: '/var/lib/natnet-hook/natnet.leases' };
const TAP = { name: 'vnet1', mac: '52:54:00:aa:bb:01' };
const HOSTS = '52:54:00:aa:bb:01,id:*,192.168.100.10,web\n';

type Fw = Pick<DesiredNetwork, 'backend' | 'iptablesVariant'>;
const IPT: Fw = { backend: 'iptables', iptablesVariant: 'nft' };
const NFT: Fw = { backend: 'nftables', iptablesVariant: null };

const desired = (net: Network, fw: Fw): DesiredNetwork => ({ net, ...fw, paths, hostsText: HOSTS, taps: [TAP] });

/** iptables-save of a host where net's rules are applied (and nothing else). */
function appliedDump(net: Network): string {
  const lines = renderIptablesRestore(net).split('\n');
  const jumps = lines.filter((l) => l.startsWith('-I ')).map((l) => l.replace(/^-I (\S+) 1/, '-A $1'));
  const table = (t: string, builtins: string[], ours: (l: string) => boolean) =>
    [`*${t}`, ...builtins.map((b) => `:${b} ACCEPT [0:0]`), ...lines.filter((l) => l.startsWith(':') && ours(l)), ...jumps.filter(ours), ...lines.filter((l) => l.startsWith('-A') && ours(l)), 'COMMIT'];
  const nat = (l: string) => l.includes('POST');
  return [...table('nat', ['POSTROUTING'], nat), ...table('filter', ['FORWARD', 'INPUT'], (l) => !nat(l))].join('\n');
}

const nftTableOf = (net: Network) => new Map(nftChains(net).map((c) => [c.name, { hook: c.hook, rules: c.rules }]));

function record(net: Network, fw: Fw): AppliedRecord {
  return {
    network: net,
    links: { bridges: [{ name: net.bridge, created: true, addresses: [`${net.gateway}/${net.prefix}`] }], dummies: [] },
    firewalls: [{ ...fw, bridge: net.bridge }],
    dnsmasq: true,
    dummyUnsupported: 'kernel has no dummy netdev',
    appliedAt: '',
  };
}

const bridgeLink = (net: Network): LinkState => ({ name: net.bridge, kind: 'bridge', mac: net.mac, up: true, master: null, addresses: [`${net.gateway}/${net.prefix}`], stp: net.stp, forwardDelay: net.forwardDelay });
const tapLink = (master: string | null): LinkState => ({ name: TAP.name, kind: 'tun', mac: 'fe:54:00:aa:bb:01', up: true, master, addresses: [] });

/** Nothing of ours on the host yet. */
function nothing(net: Network, fw: Fw): UpObservation {
  return {
    links: new Map(),
    forwarding: false,
    drift: fw.backend === 'nftables' ? nftDrift(net, null) : iptablesDrift(net, parseIptablesSave('')),
    confText: null,
    hostsText: null,
    dnsmasqPid: null,
    record: null,
    oldFirewalls: [],
    iptablesNft: null,
    others: [],
  };
}

/** `was` applied with backend fw, a running VM on its bridge; its rules as seen for the new network `net` in `now`. */
function applied(was: Network, fw: Fw, net: Network, now: Fw): UpObservation {
  const dump = parseIptablesSave(fw.backend === 'iptables' ? appliedDump(was) : '');
  const sameFw = fw.backend === now.backend && was.bridge === net.bridge;
  return {
    links: new Map([
      [was.bridge, bridgeLink(was)],
      [TAP.name, tapLink(was.bridge)],
    ]),
    forwarding: true,
    drift: now.backend === 'nftables' ? nftDrift(net, sameFw ? nftTableOf(was) : null) : iptablesDrift(net, sameFw ? dump : parseIptablesSave('')),
    confText: renderDnsmasqConf(was, paths),
    hostsText: HOSTS,
    dnsmasqPid: 4242,
    record: record(was, fw),
    oldFirewalls: sameFw
      ? []
      : [fw.backend === 'iptables' ? { backend: 'iptables', bridge: was.bridge, variant: 'nft', dump } : { backend: 'nftables', bridge: was.bridge, tablePresent: true }],
    iptablesNft:
      fw.backend === 'iptables' && !sameFw
        ? { changes: { enabledForwarding: true, iptablesTablesCreated: ['nat', 'filter'], iptablesChainsCreated: [] }, dump, existing: { tables: new Set(['nat', 'filter']), chains: new Set() } }
        : null,
    others: [],
  };
}

function transcript(d: DesiredNetwork, o: UpObservation): string {
  const plan = planUp(d, o);
  const out = [`natnet: ${plan.steps.length ? 'would do:' : 'up, nothing to change'}`];
  for (const s of plan.steps) {
    out.push(`  - ${describeStep(s)}`);
    if (s.kind === 'firewall' && s.input) out.push(...s.input.trimEnd().split('\n').map((l) => `      | ${l}`));
  }
  out.push(...plan.notes.map((n) => `  note: ${n}`));
  out.push('', 'record before the first step:', JSON.stringify(plan.intended, (k, v) => (k === 'network' ? undefined : v), 2));
  out.push('', 'record after the last step:', JSON.stringify(plan.target, (k, v) => (k === 'network' ? undefined : v), 2), '');
  return out.join('\n');
}

const [v6] = parseMainConfig(
  '[[network]]\nname = "natnet"\nfirewall = "nftables"\nipv6 = "fd12:3456:789a:1::1/64"\nipv6_fix_accept_ra = true\n',
  new Problems('f'),
).networks;

describe('golden plan transcripts', () => {
  const renamed = { ...base, bridge: 'virbr11', dummy: 'virbr11-nic' };
  const wide = { ...base, prefix: 16, subnet: '192.168.0.0' };
  const cases: [string, DesiredNetwork, UpObservation][] = [
    ['first-up-iptables', desired(base, IPT), nothing(base, IPT)],
    ['first-up-nftables', desired(base, NFT), nothing(base, NFT)],
    ['switch-iptables-to-nftables', desired(base, NFT), applied(base, IPT, base, NFT)],
    ['switch-nftables-to-iptables', desired(base, IPT), applied(base, NFT, base, IPT)],
    ['bridge-rename', desired(renamed, IPT), applied(base, IPT, renamed, IPT)],
    ['prefix-24-to-16', desired(wide, IPT), applied(base, IPT, wide, IPT)],
    // IPv6 on a new network, an uplink with RA-learned routes fixed (ipv6_fix_accept_ra), forwarding off so far
    [
      'first-up-ipv6',
      desired(v6, NFT),
      { ...nothing(v6, NFT), ipv6: { kernel: true, forwarding: false, bridge: null, raInterfaces: [{ name: 'eth0', acceptRa: '1' }] } },
    ],
  ];
  for (const [name, d, o] of cases) it(name, () => golden(`plans/${name}.txt`, transcript(d, o)));
});
