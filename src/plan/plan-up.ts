import { type AppliedFirewall, type AppliedRecord, type HostChanges, sameFirewall, unionRecords } from '../model/applied.js';
import type { DockerFirewall } from '../observe/docker.js';
import type { IptablesDump } from '../observe/iptables.js';
import { type DockerUserFound, keptDockerUser, planDockerUser, planDockerUserRemoval, wantedDockerUser } from './docker-user.js';
import type { DnsmasqPaths } from '../render/dnsmasq.js';
import { type DesiredNetwork, type NetworkObservation, planDnsmasq, planFirewall, planLinks } from './plan-network.js';
import { dumpWithoutOurRules, type FirewallFound, planFileRemoval, planFirewallRemoval, planIptablesNftLeftovers } from './plan-teardown.js';
import type { Step } from './steps.js';
import type { Ipv6Observation } from '../observe/ipv6.js';
import { FORWARDING6_KEY, ipv6ConfKey } from '../sys/sysctl.js';
import { bridgeAddress6 } from '../net/ipv6.js';

export interface UpObservation extends NetworkObservation {
  /** Each firewall of the record that is not the desired one (other backend, variant or bridge), as found. */
  oldFirewalls: FirewallFound[];
  /**
   * When an old iptables-nft firewall goes: the host-wide iptables-nft tables/chains up created
   * (host-changes.json), the iptables-nft dump and what exists in nft, to remove what is empty then.
   */
  iptablesNft: { changes: HostChanges; dump: IptablesDump; existing: { tables: Set<string>; chains: Set<string> } } | null;
  /** The same for ip6tables-nft (family ip6), when an old iptables-nft firewall goes or IPv6 was turned off. */
  iptablesNft6?: { changes: NonNullable<HostChanges['ip6tablesCreated']>; dump: IptablesDump; existing: { tables: Set<string>; chains: Set<string> } } | null;
  /** Networks of another name whose record claims our bridge (the network was renamed): their dnsmasq goes. */
  others: { name: string; paths: DnsmasqPaths; dnsmasqPids: number[] }[];
  /** Docker's firewall (absent: not looked at, as if there were none). */
  docker?: DockerFirewall;
  /** DOCKER-USER entries of the record this up no longer wants, as found: our accepts there go. */
  oldDockerUser?: DockerUserFound[];
}

/** Everything one `up` of a network does, decided before its first step. */
export interface UpPlan {
  steps: Step[];
  /** What stays and why (a link that is not ours); shown by plan and up alike. */
  notes: string[];
  /** Written before the first step: every component that exists or may be created (old and new). */
  intended: AppliedRecord;
  /** Written once every step succeeded: the desired components only. */
  target: AppliedRecord;
  /** The plan applies or repairs the desired backend's rules (iptables-nft may then create tables). */
  appliesFirewall: boolean;
  /** The plan adds our IPv4 / IPv6 address to the bridge (what preflight checks other interfaces against). */
  addsAddress: boolean;
  addsAddress6: boolean;
}

/**
 * Host-wide IPv6 forwarding for a network with an IPv6 side, when it is off. Enabling it makes
 * the kernel ignore router advertisements on interfaces with accept_ra=1: with
 * ipv6_fix_accept_ra, those with RA-learned routes get accept_ra=2 first (else preflight refuses,
 * naming them). Both are recorded as host changes and put back by the last down. Pure.
 */
export function planForwarding6(d: DesiredNetwork, o: NetworkObservation): Step[] {
  if (!d.net.ipv6 || !o.ipv6 || o.ipv6.forwarding) return [];
  const fixes = d.net.ipv6.fixAcceptRa ? raInterfacesToFix(d.net.bridge, o.ipv6) : [];
  return [
    ...fixes.map((r): Step => ({
      kind: 'sysctl',
      why: `keep router advertisements on ${r.name} with forwarding on (ipv6_fix_accept_ra)`,
      key: ipv6ConfKey(r.name, 'accept_ra'),
      value: '2',
      was: r.acceptRa,
      host: 'accept_ra',
    })),
    { kind: 'sysctl', why: 'enable IPv6 forwarding', key: FORWARDING6_KEY, value: '1', was: '0', host: 'forwarding6' },
  ];
}

/** Interfaces (not our bridge) with RA-learned routes whose accept_ra is not 2: enabling forwarding would drop those routes. */
export function raInterfacesToFix(bridge: string, v6: Ipv6Observation): Ipv6Observation['raInterfaces'] {
  return v6.raInterfaces.filter((r) => r.name !== bridge && r.acceptRa !== '2' && r.acceptRa !== null);
}

export function desiredFirewall(d: DesiredNetwork): AppliedFirewall {
  return { backend: d.backend, iptablesVariant: d.iptablesVariant, bridge: d.net.bridge };
}

/** The firewalls of a record that an up of d replaces (another backend, variant or bridge). */
export function oldFirewallsOf(d: DesiredNetwork, record: AppliedRecord | null): AppliedFirewall[] {
  const want = desiredFirewall(d);
  return (record?.firewalls ?? []).filter((f) => !sameFirewall(f, want));
}

/**
 * The one plan of `up` for a network, from one observation: `plan` prints it, `up` runs it.
 * Each component is reconciled on its own, in an order that never cuts a running guest off:
 *   1. the desired bridge, its address (a new one before the old goes) and dummy; forwarding;
 *   2. the desired backend's rules (a switch: the new rules first; both at once is harmless,
 *      conntrack NATs a flow once), and our accepts in Docker's DOCKER-USER where it exists;
 *   3. a rename: the running VMs' taps and our address move to the new bridge, which only then
 *      opens (a bridge opened without ports drops its first sends: see planLinks);
 *   4. dnsmasq (config and restart only when they changed; a SIGHUP for new reservations);
 *   5. the old backend's rules, old DOCKER-USER accepts, iptables-nft tables up created that are empty then, old links.
 * Pure.
 */
export function planUp(d: DesiredNetwork, o: UpObservation): UpPlan {
  const links = planLinks(d, o);
  const firewall = planFirewall(d, o);
  const othersGo = o.others.flatMap((x) => [
    ...x.dnsmasqPids.map((pid): Step => ({ kind: 'dnsmasq-stop', why: `stop dnsmasq of ${x.name} (renamed to ${d.net.name})`, pid, conf: x.paths.conf })),
    ...planFileRemoval(x.paths),
  ]);
  const oldRules = o.oldFirewalls.flatMap((f) => planFirewallRemoval(d.net, f));
  const dockerUser = o.docker ? planDockerUser(d.net, o.docker) : [];
  const oldDockerUser = (o.oldDockerUser ?? []).flatMap((f) => planDockerUserRemoval(d.net.name, f));
  let leftovers: Step[] = [];
  const nftGoes = o.oldFirewalls.filter((f) => f.backend === 'iptables' && f.variant === 'nft');
  // while our rules stay in iptables-nft (another bridge's chains now), its tables are not empty
  if (o.iptablesNft && nftGoes.length && !(d.backend === 'iptables' && d.iptablesVariant === 'nft')) {
    const after = nftGoes.reduce((dump, f) => dumpWithoutOurRules(dump, f.bridge), o.iptablesNft.dump);
    leftovers = planIptablesNftLeftovers(o.iptablesNft.changes, after, o.iptablesNft.existing);
  }
  // the same for ip6tables-nft; also when our IPv6 rules go because IPv6 was turned off
  const desiredNft = d.backend === 'iptables' && d.iptablesVariant === 'nft';
  const v6Goes = [...nftGoes.map((f) => f.bridge), ...(desiredNft && !d.net.ipv6 && o.drift.ipv6 ? [d.net.bridge] : [])];
  if (o.iptablesNft6 && v6Goes.length && !(desiredNft && d.net.ipv6)) {
    const six = o.iptablesNft6;
    const after = v6Goes.reduce((dump, bridge) => dumpWithoutOurRules(dump, bridge), six.dump);
    leftovers.push(...planIptablesNftLeftovers({ iptablesTablesCreated: six.changes.tables, iptablesChainsCreated: six.changes.chains }, after, six.existing, 'ip6'));
  }
  const steps = [
    ...links.prepare,
    ...(o.forwarding ? [] : [{ kind: 'forwarding', why: 'enable IPv4 forwarding' } as Step]),
    ...planForwarding6(d, o),
    ...firewall,
    ...dockerUser,
    ...links.move,
    ...othersGo,
    ...planDnsmasq(d, o),
    ...oldRules,
    ...oldDockerUser,
    ...leftovers,
    ...links.remove,
  ];
  const { net } = d;
  const wanted = o.docker ? keptDockerUser(o.record?.dockerUser ?? [], wantedDockerUser(net, o.docker), o.docker.unread) : [];
  const address = `${net.gateway}/${net.prefix}`;
  const address6 = net.ipv6 ? bridgeAddress6(net.ipv6) : null;
  const prev = o.record;
  const prevHere = prev?.links.bridges.find((b) => b.name === net.bridge);
  const prevDummy = prev?.links.dummies.find((x) => x.name === net.dummy);
  const dummyUnsupported = net.dummy ? (prev?.dummyUnsupported ?? null) : null;
  // a rename: the old names stay known, so the VMs whose XML names them are still found
  const replaced = [
    ...new Set([...(prevHere?.replaced ?? []), ...(prev?.links.bridges ?? []).filter((b) => b.name !== net.bridge).flatMap((b) => [...(b.replaced ?? []), b.name])]),
  ]
    .filter((n) => n !== net.bridge)
    .slice(-4);
  const target: AppliedRecord = {
    network: net,
    links: {
      bridges: [
        {
          name: net.bridge,
          created: (prevHere?.created ?? false) || links.createsBridge,
          // ours only if we add it; an address the admin had on the bridge stays on down
          addresses: [
            ...(links.addsAddress || prevHere?.addresses.includes(address) ? [address] : []),
            ...(address6 && (links.addsAddress6 || prevHere?.addresses.includes(address6)) ? [address6] : []),
          ],
          ...(replaced.length ? { replaced } : {}),
          ...(Object.keys(links.sysctls6).length ? { sysctls6: links.sysctls6 } : {}),
        },
      ],
      dummies: net.dummy && !dummyUnsupported ? [{ name: net.dummy, created: links.createsDummy || (prevDummy?.created ?? false) }] : [],
    },
    firewalls: [desiredFirewall(d)],
    ...(wanted.length ? { dockerUser: wanted } : {}),
    dnsmasq: true,
    dummyUnsupported,
    appliedAt: '',
  };
  const union = prev ? unionRecords(prev, target) : target;
  return {
    steps,
    notes: links.left,
    // IPv6 turned off: until the removal succeeded the record still says the network had IPv6, so
    // a later up or down looks for our IPv6 rules (they are looked for only when a record says so)
    intended: prev?.network.ipv6 && !net.ipv6 ? { ...union, network: { ...union.network, ipv6: prev.network.ipv6 } } : union,
    target,
    appliesFirewall: firewall.length > 0,
    addsAddress: links.addsAddress,
    addsAddress6: links.addsAddress6,
  };
}
