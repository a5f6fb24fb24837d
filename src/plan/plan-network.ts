import { NatnetError } from '../errors.js';
import type { AppliedRecord, Backend } from '../model/applied.js';
import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';
import { parseCidr } from '../net/ipv4.js';
import type { IptablesDump } from '../observe/iptables.js';
import type { LinkState } from '../observe/links.js';
import { type DnsmasqPaths, renderDnsmasqConf } from '../render/dnsmasq.js';
import { xtablesTool } from '../model/family.js';
import { renderIp6tablesRestore, renderIptablesRestore } from '../render/iptables.js';
import { renderNftScript } from '../render/nft.js';
import { type FirewallDrift, familyClean, isClean, ruleChanges } from './firewall-drift.js';
import { isTapOf } from './ownership.js';
import { ip6tablesRemoval, removeLink } from './plan-teardown.js';
import { BRIDGE_SYSCTL6_KEYS, BRIDGE_SYSCTLS6, type BridgeSysctl6, type Ipv6Observation } from '../observe/ipv6.js';
import { ipv6ConfKey } from '../sys/sysctl.js';
import type { Step } from './steps.js';
import { bridgeAddress6 } from '../net/ipv6.js';

export interface NetworkObservation {
  links: Map<string, LinkState>;
  forwarding: boolean;
  /** Our rules in the desired backend, for the desired bridge and subnet. */
  drift: FirewallDrift;
  /** The ip6tables dump of the desired variant (iptables backend), which says what a removal of our IPv6 rules deletes. */
  ip6tablesDump?: IptablesDump | null;
  confText: string | null;
  hostsText: string | null;
  /** Pid of our live dnsmasq for this network, or null. */
  dnsmasqPid: number | null;
  /** What is applied now, per component (null: nothing). */
  record: AppliedRecord | null;
  /** IPv6 facts (forwarding, the bridge's sysctls, RA-learned routes); absent: not looked at (no IPv6 side). */
  ipv6?: Ipv6Observation;
}

export interface DesiredNetwork {
  net: Network;
  backend: Backend;
  iptablesVariant: 'nft' | 'legacy' | null;
  paths: DnsmasqPaths;
  hostsText: string;
  /**
   * Taps of running VMs (from the hooks) on this bridge or on a bridge of ours it replaces;
   * onlyIfDetached: the VM's record names a bridge this one replaced earlier, so its tap is taken
   * only when it is on no bridge (never from a bridge someone else made under that name).
   */
  taps?: { name: string; mac: string; onlyIfDetached?: boolean }[];
  /** Port forwards to VMs of this network (rendered with its rules). */
  forwards?: ResolvedForward[];
}

export class PlanConflict extends NatnetError {}

/** The link steps, in the phases the plan interleaves with the firewall and dnsmasq steps. */
export interface LinkPlan {
  /** On the desired bridge: create or repair it, its address, its dummy. */
  prepare: Step[];
  /** A bridge rename: the running VMs' taps and our address move from the old bridge (after the new rules). */
  move: Step[];
  /** Old bridges and dummies of ours that nothing uses any more (last). */
  remove: Step[];
  left: string[];
  /** What `prepare`/`move` create: the record claims it before they run. */
  createsBridge: boolean;
  addsAddress: boolean;
  createsDummy: boolean;
  /** Our IPv6 address is added (it is ours to remove), and the IPv6 sysctls of a bridge we did not create, as they were. */
  addsAddress6: boolean;
  sysctls6: Partial<Record<BridgeSysctl6, string>>;
}

/** Adding b while a is there would make b a secondary of a (same prefix and subnet): deleting a would take b along. */
function wouldBeSecondary(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return !!x && !!y && x.prefix === y.prefix && x.network === y.network;
}

/** Bridge, address, dummy: `ip -batch` lines and the dummy creation, per phase. Pure. */
export function planLinks(d: DesiredNetwork, o: NetworkObservation): LinkPlan {
  const { net } = d;
  const br = o.links.get(net.bridge);
  const address = `${net.gateway}/${net.prefix}`;
  const prev = o.record;
  const prevHere = prev?.links.bridges.find((b) => b.name === net.bridge);
  const oldBridges = (prev?.links.bridges ?? []).filter((b) => b.name !== net.bridge);
  const lines: string[] = [];
  const fd = net.forwardDelay * 100;
  const stp = net.stp ? 1 : 0;
  if (!br) {
    lines.push(`link add ${net.bridge} address ${net.mac} type bridge forward_delay ${fd} stp_state ${stp}`);
  } else {
    if (br.kind !== 'bridge') throw new PlanConflict(`${net.bridge} exists and is a ${br.kind || 'device'}, not a bridge; rename the network's bridge or remove that link`);
    if (br.mac !== net.mac) lines.push(`link set ${net.bridge} address ${net.mac}`);
    if (br.stp !== net.stp || br.forwardDelay !== net.forwardDelay) {
      // While STP is on the kernel refuses a delay under 2 s: switch STP off before lowering
      // the delay, and raise the delay before switching STP on.
      const delay = `link set ${net.bridge} type bridge forward_delay ${fd}`;
      const state = `link set ${net.bridge} type bridge stp_state ${stp}`;
      lines.push(...(net.stp ? [delay, state] : [state, delay]));
    }
  }

  // A rename: what sits on an old bridge of ours moves once the new bridge's rules are in place.
  const moveLines: string[] = [];
  const oldNames = new Set(oldBridges.map((b) => b.name));
  const tapLines = (onOld: boolean) =>
    (d.taps ?? []).flatMap((tap) => {
      const link = o.links.get(tap.name);
      if (!link || link.master === net.bridge || !isTapOf(link, tap.mac) || (tap.onlyIfDetached && link.master !== null)) return [];
      return onOld === (link.master !== null && oldNames.has(link.master)) ? [`link set ${tap.name} master ${net.bridge}`] : [];
    });
  const moved = tapLines(true);
  moveLines.push(...moved);
  // The bridge opens only once the running VMs' taps are its ports: it then has carrier when it
  // opens and the kernel readies its transmit queue at once. A port joining an open bridge
  // without carrier switches the carrier on, but the queue is readied later (linkwatch) and
  // drops what the host sends meanwhile: an ARP request for a guest, then 1 s without replies.
  const upLine = br?.up ? [] : [`link set ${net.bridge} up`];
  if (moved.length) moveLines.push(...upLine);
  for (const old of oldBridges) {
    const link = o.links.get(old.name);
    if (link?.kind !== 'bridge') continue;
    moveLines.push(...old.addresses.filter((a) => link.addresses.includes(a)).map((a) => `addr del ${a} dev ${old.name}`));
  }
  const addressMoves = moveLines.some((l) => l.startsWith('addr del '));

  // Our address: the new one is added before the old one goes (routes and the gateway stay),
  // except where the kernel would make the new one a secondary that the deletion takes along.
  const hasAddress = !!br?.addresses.includes(address);
  const stale = (prevHere?.addresses ?? []).filter((a) => !isV6(a) && a !== address && br?.addresses.includes(a));
  const dels = stale.map((a) => `addr del ${a} dev ${net.bridge}`);
  const add = `addr add ${address} dev ${net.bridge}`;
  if (hasAddress) lines.push(...dels);
  else if (addressMoves) {
    lines.push(...dels);
    moveLines.push(add);
  } else lines.push(...(stale.some((a) => wouldBeSecondary(a, address)) ? [...dels, add] : [add, ...dels]));
  lines.push(...tapLines(false));
  // With an IPv6 side the bridge opens after its IPv6 sysctls (no DAD, RA or autoconf on its link-local)
  const openLater = !moved.length && !!net.ipv6 ? upLine : [];
  if (!moved.length && !net.ipv6) lines.push(...upLine);

  const prepare: Step[] = [];
  if (lines.length) prepare.push({ kind: 'ip-batch', why: br ? `repair bridge ${net.bridge}` : `create bridge ${net.bridge}`, lines });
  const v6 = planBridgeIpv6(d, o, !br, openLater);
  prepare.push(...v6.steps);
  let createsDummy = false;
  if (net.dummy && !prev?.dummyUnsupported) {
    const dummy = o.links.get(net.dummy);
    if (!dummy) {
      createsDummy = true;
      prepare.push({ kind: 'dummy-create', why: `create dummy ${net.dummy}`, name: net.dummy, mac: net.mac, bridge: net.bridge });
    } else if (dummy.master !== net.bridge || !dummy.up || dummy.mac !== net.mac) {
      prepare.push({ kind: 'ip-batch', why: `repair dummy ${net.dummy}`, lines: [`link set ${net.dummy} address ${net.mac} master ${net.bridge} up`] });
    }
  }

  const move: Step[] = moveLines.length
    ? [{ kind: 'ip-batch', why: `move ports and address of ${[...oldNames].join(', ')} to ${net.bridge}`, lines: moveLines }]
    : [];

  // what nothing uses any more: a dummy we created under another name, old bridges of ours
  const removeLines: string[] = [];
  const left: string[] = [];
  for (const old of prev?.links.dummies ?? []) {
    if (old.name === net.dummy) continue;
    const r = removeLink(old.name, 'dummy', old.created, [], net.mac, o.links);
    removeLines.push(...r.lines);
    left.push(...r.left);
  }
  for (const old of oldBridges) {
    const r = removeLink(old.name, 'bridge', old.created, [], prev!.network.mac, o.links);
    removeLines.push(...r.lines);
    left.push(...r.left);
  }
  const remove: Step[] = removeLines.length ? [{ kind: 'ip-batch', why: `remove old links of ${net.name}`, lines: removeLines }] : [];
  return { prepare, move, remove, left, createsBridge: !br, addsAddress: !hasAddress, createsDummy, addsAddress6: v6.addsAddress, sysctls6: v6.sysctls6 };
}

const isV6 = (cidr: string) => cidr.includes(':');

/**
 * The bridge's IPv6 side: its sysctls (no RA, no SLAAC, no DAD on the router's own bridge; then
 * IPv6 on), then our /64 address (nodad: no DAD delay before dnsmasq can send RAs), an old one
 * of ours going after, then `open` (the line that sets the bridge up, its ports already joined).
 * With the IPv6 side off: our old address goes, and the sysctls of a bridge we did not create are
 * put back. Pure.
 */
function planBridgeIpv6(
  d: DesiredNetwork,
  o: NetworkObservation,
  creating: boolean,
  open: string[],
): { steps: Step[]; addsAddress: boolean; sysctls6: Partial<Record<BridgeSysctl6, string>> } {
  const { net } = d;
  const br = o.links.get(net.bridge);
  const prevHere = o.record?.links.bridges.find((b) => b.name === net.bridge);
  const adopted = !creating && !prevHere?.created;
  const had = prevHere?.sysctls6 ?? {};
  const address6 = net.ipv6 ? bridgeAddress6(net.ipv6) : null;
  const stale6 = (prevHere?.addresses ?? []).filter((a) => isV6(a) && a !== address6 && br?.addresses.includes(a));
  const steps: Step[] = [];
  const sysctls6: Partial<Record<BridgeSysctl6, string>> = adopted ? { ...had } : {};
  const current = o.ipv6?.bridge ?? null;
  if (net.ipv6) {
    for (const key of BRIDGE_SYSCTL6_KEYS) {
      const want = BRIDGE_SYSCTLS6[key];
      const now = current?.[key] ?? null;
      if (now === want) continue;
      steps.push({ kind: 'sysctl', why: `IPv6 setting of bridge ${net.bridge}`, key: ipv6ConfKey(net.bridge, key), value: want, was: now });
      if (adopted && now !== null && sysctls6[key] === undefined) sysctls6[key] = now;
    }
  } else if (adopted && br) {
    // only settings that exist now (none when IPv6 is off on the bridge or in the kernel) and differ
    for (const [key, was] of Object.entries(had) as [BridgeSysctl6, string][]) {
      const now = current?.[key] ?? null;
      if (now !== null && now !== was) steps.push({ kind: 'sysctl', why: `put back IPv6 setting of bridge ${net.bridge}`, key: ipv6ConfKey(net.bridge, key), value: was, was: now, ifExists: true });
    }
  }
  const hasAddress6 = address6 !== null && !!br?.addresses.includes(address6);
  const addressLines = [...(address6 && !hasAddress6 ? [`addr add ${address6} dev ${net.bridge} nodad`] : []), ...stale6.map((a) => `addr del ${a} dev ${net.bridge}`)];
  const lines = [...addressLines, ...open];
  const why = addressLines.length ? `IPv6 address of bridge ${net.bridge}${open.length ? ', then open it' : ''}` : `open bridge ${net.bridge}`;
  if (lines.length) steps.push({ kind: 'ip-batch', why, lines });
  return { steps, addsAddress: address6 !== null && !hasAddress6, sysctls6: net.ipv6 ? sysctls6 : {} };
}

/**
 * Our rules in the desired backend for the desired bridge and subnet: one atomic apply or repair
 * (nftables: both tables in one transaction; iptables: one restore per family). The IPv6 side
 * follows net.ipv6: applied, refilled, or removed when IPv6 was turned off.
 */
export function planFirewall(d: DesiredNetwork, o: NetworkObservation): Step[] {
  if (isClean(o.drift)) return [];
  const verb = (x: FirewallDrift) => (x.missing.length || x.missingJumps.length ? 'apply' : 'repair');
  const why = (x: FirewallDrift, what: string) => {
    const changes = ruleChanges(x);
    return `${verb(x)} ${what} rules of ${d.net.name}${changes ? ` [${changes}]` : ''}`;
  };
  const v6 = o.drift.ipv6;
  if (d.backend === 'nftables') {
    return [{ kind: 'firewall', why: why(o.drift, d.backend), argv: ['nft', '-f', '-'], input: renderNftScript(d.net, d.forwards, { dropIp6: !!v6 && !d.net.ipv6 }) }];
  }
  const steps: Step[] = [];
  const v4 = { ...o.drift, ipv6: undefined };
  if (!familyClean(v4)) {
    steps.push({
      kind: 'firewall',
      why: why(v4, d.backend),
      argv: [xtablesTool('ipv4', d.iptablesVariant!, 'restore'), '-w', '--noflush'],
      input: renderIptablesRestore(d.net, d.forwards, { missing: v4.missingJumps, duplicate: v4.duplicateJumps }),
    });
  }
  if (v6 && !familyClean(v6)) {
    const restore = [xtablesTool('ipv6', d.iptablesVariant!, 'restore'), '-w', '--noflush'];
    if (d.net.ipv6) {
      steps.push({
        kind: 'firewall',
        why: why(v6, 'ip6tables'),
        argv: restore,
        input: renderIp6tablesRestore(d.net, { missing: v6.missingJumps, duplicate: v6.duplicateJumps }),
      });
    } else {
      steps.push(...ip6tablesRemoval(d.net, d.iptablesVariant!, o.ip6tablesDump ?? null, 'the network has no IPv6'));
    }
  }
  return steps;
}

export function planDnsmasq(d: DesiredNetwork, o: NetworkObservation): Step[] {
  const conf = renderDnsmasqConf(d.net, d.paths);
  const steps: Step[] = [];
  const confChanged = o.confText !== conf;
  const hostsChanged = o.hostsText !== d.hostsText;
  if (confChanged) steps.push({ kind: 'write-file', why: 'dnsmasq config', path: d.paths.conf, content: conf, mode: 0o644 });
  // 0644: dnsmasq re-reads it as 'nobody' after SIGHUP; 0600 would silently drop every reservation
  if (hostsChanged) steps.push({ kind: 'write-file', why: 'reservations', path: d.paths.hosts, content: d.hostsText, mode: 0o644 });
  if (o.dnsmasqPid === null) {
    steps.push({ kind: 'dnsmasq-start', why: `start dnsmasq for ${d.net.name}`, conf: d.paths.conf, pidFile: d.paths.pid });
  } else if (confChanged) {
    steps.push({ kind: 'dnsmasq-stop', why: 'dnsmasq config changed', pid: o.dnsmasqPid, conf: d.paths.conf });
    steps.push({ kind: 'dnsmasq-start', why: `restart dnsmasq for ${d.net.name}`, conf: d.paths.conf, pidFile: d.paths.pid });
  } else if (hostsChanged) {
    steps.push({ kind: 'dnsmasq-reload', why: 'reload reservations (SIGHUP)', pid: o.dnsmasqPid, conf: d.paths.conf, pidFile: d.paths.pid });
  }
  return steps;
}
