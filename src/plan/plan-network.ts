import { NatnetError } from '../errors.js';
import type { AppliedRecord, Backend } from '../model/applied.js';
import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';
import type { LinkState } from '../observe/links.js';
import { type DnsmasqPaths, renderDnsmasqConf } from '../render/dnsmasq.js';
import { renderIptablesRestore } from '../render/iptables.js';
import { renderNftScript } from '../render/nft.js';
import { type FirewallDrift, isClean, ruleChanges } from './firewall-drift.js';
import { notOurLink } from './ownership.js';
import type { Step } from './steps.js';

export interface NetworkObservation {
  links: Map<string, LinkState>;
  forwarding: boolean;
  drift: FirewallDrift;
  confText: string | null;
  hostsText: string | null;
  /** Pid of our live dnsmasq for this network, or null. */
  dnsmasqPid: number | null;
  record: AppliedRecord | null;
}

export interface DesiredNetwork {
  net: Network;
  backend: Backend;
  iptablesVariant: 'nft' | 'legacy' | null;
  paths: DnsmasqPaths;
  hostsText: string;
  /** Taps of running VMs on this bridge (from the hooks), put back if the bridge was recreated. */
  taps?: { name: string; mac: string }[];
  /** A dummy we created under another name (renamed or disabled since): removed. */
  staleDummy?: { name: string; mac: string } | null;
  /** Port forwards to VMs of this network (rendered with its rules). */
  forwards?: ResolvedForward[];
}

export class PlanConflict extends NatnetError {}

/** Bridge, address, dummy: `ip -batch` lines and the dummy creation. Pure. */
function planLinks(d: DesiredNetwork, o: NetworkObservation): Step[] {
  const { net } = d;
  const br = o.links.get(net.bridge);
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
  const address = `${net.gateway}/${net.prefix}`;
  const old = o.record?.address;
  if (old && old !== address && br?.addresses.includes(old)) lines.push(`addr del ${old} dev ${net.bridge}`);
  if (!br?.addresses.includes(address)) lines.push(`addr add ${address} dev ${net.bridge}`);
  if (!br?.up) lines.push(`link set ${net.bridge} up`);
  for (const tap of d.taps ?? []) {
    const link = o.links.get(tap.name);
    // libvirt gives the host side of a tap the guest MAC with fe: in front; anything else is not this VM's tap
    if (link && link.master !== net.bridge && link.mac === `fe${tap.mac.slice(2)}`) {
      lines.push(`link set ${tap.name} master ${net.bridge}`);
    }
  }

  const stale = d.staleDummy ? o.links.get(d.staleDummy.name) : undefined;
  if (stale && d.staleDummy && !notOurLink(stale, 'dummy', d.staleDummy.mac)) lines.push(`link del ${stale.name}`);
  const steps: Step[] = [];
  if (lines.length) steps.push({ kind: 'ip-batch', why: br ? `repair bridge ${net.bridge}` : `create bridge ${net.bridge}`, lines });
  if (net.dummy && !o.record?.dummyUnsupported) {
    const dummy = o.links.get(net.dummy);
    if (!dummy) steps.push({ kind: 'dummy-create', why: `create dummy ${net.dummy}`, name: net.dummy, mac: net.mac, bridge: net.bridge });
    else if (dummy.master !== net.bridge || !dummy.up || dummy.mac !== net.mac) {
      steps.push({
        kind: 'ip-batch',
        why: `repair dummy ${net.dummy}`,
        lines: [`link set ${net.dummy} address ${net.mac} master ${net.bridge} up`],
      });
    }
  }
  return steps;
}

function planFirewall(d: DesiredNetwork, o: NetworkObservation): Step[] {
  if (isClean(o.drift)) return [];
  const changes = ruleChanges(o.drift);
  const why = `${o.drift.missing.length || o.drift.missingJumps.length ? 'apply' : 'repair'} ${d.backend} rules of ${d.net.name}${changes ? ` [${changes}]` : ''}`;
  if (d.backend === 'nftables') {
    return [{ kind: 'firewall', why, argv: ['nft', '-f', '-'], input: renderNftScript(d.net, d.forwards) }];
  }
  return [
    {
      kind: 'firewall',
      why,
      argv: [`iptables-${d.iptablesVariant}-restore`, '-w', '--noflush'],
      input: renderIptablesRestore(d.net, d.forwards, { missing: o.drift.missingJumps, duplicate: o.drift.duplicateJumps }),
    },
  ];
}

function planDnsmasq(d: DesiredNetwork, o: NetworkObservation): Step[] {
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

/** Everything one network needs to match its desired state; [] when it already does. Pure. */
export function planNetwork(d: DesiredNetwork, o: NetworkObservation): Step[] {
  return [
    ...planLinks(d, o),
    ...(o.forwarding ? [] : [{ kind: 'forwarding', why: 'enable IPv4 forwarding' } as Step]),
    ...planFirewall(d, o),
    ...planDnsmasq(d, o),
  ];
}
