import { ConflictError, NatnetError } from '../errors.js';
import type { AppliedRecord } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { parseCidr } from '../net/ipv4.js';
import type { LinkState } from '../observe/links.js';
import { installHint } from '../observe/tools.js';
import type { Step } from './steps.js';
import type { Ipv6Observation } from '../observe/ipv6.js';
import { overlaps6, parseCidr6, prefixOf6, prefixText6 } from '../net/ipv6.js';
import { raInterfacesToFix } from './plan-up.js';
import { ipv6ConfKey, sysctlName } from '../sys/sysctl.js';

/** The programs a plan's steps run (argv[0] of each), so a missing one is named before anything is touched. */
export function toolsNeeded(steps: Step[]): string[] {
  const tools = new Set<string>();
  for (const s of steps) {
    if (s.kind === 'ip-batch' || s.kind === 'dummy-create') tools.add('ip');
    else if (s.kind === 'firewall') tools.add(s.argv[0]);
    else if (s.kind === 'dnsmasq-start' || s.kind === 'dnsmasq-reload') tools.add('dnsmasq');
  }
  return [...tools];
}

export interface PreflightInput {
  net: Network;
  steps: Step[];
  links: Map<string, LinkState>;
  /** Programs the steps need that are not installed (observe/tools.ts missingTools). */
  missingTools: string[];
  /** The applied records as read before this run (a stale one included: the bridge was ours then). */
  records: AppliedRecord[];
  /** This network's previous record (also one rebuilt from evidence after a bad record), or null. */
  previous: AppliedRecord | null;
  /** bridge -> libvirt network name (observe/libvirt-bridges.ts), to say whose bridge is in the way; read only then. */
  libvirtBridges: () => Map<string, string>;
  /** IPv6 facts, for a network with an IPv6 side. */
  ipv6?: Ipv6Observation;
  /** The plan adds our IPv4 / IPv6 address to the bridge (LinkPlan): only then can another interface's address be in the way. */
  addsAddress: boolean;
  addsAddress6: boolean;
}

/** What preflight found: conflicts with the host (exit 3) and what the host lacks (exit 1). */
export interface PreflightProblems {
  conflicts: string[];
  failures: string[];
}

/** "virbr0 (libvirt network 'default')", or just the name. */
export function describeInterface(name: string, libvirtBridges: Map<string, string>): string {
  const lv = libvirtBridges.get(name);
  return lv === undefined ? name : `${name} (libvirt network ${JSON.stringify(lv).replace(/^"|"$/g, "'")})`;
}

/**
 * What would make `up` fail half-way or break the host, found before its first step: programs
 * its steps need that are not installed; another interface already holding an address in the
 * network's subnet (e.g. libvirt's own network on 192.168.100.0/24: two routes for one subnet
 * and a gateway address answered twice); an existing bridge natnet-hook did not create (an
 * admin's or another tool's: taking it over rewrites its MAC, STP and state) unless the network
 * says `adopt = true`. One line each, naming the thing and the fix. Pure.
 */
export function preflightProblems(i: PreflightInput): PreflightProblems {
  const { net, links } = i;
  let libvirt: Map<string, string> | undefined;
  const describe = (name: string) => {
    libvirt ??= i.libvirtBridges();
    return describeInterface(name, libvirt);
  };
  const failures = i.missingTools.map((t) => `${t}: not found in PATH, and the plan for network ${net.name} needs it (${installHint(t)})`);
  const conflicts: string[] = [];
  const bridge = links.get(net.bridge);
  // a record (this network's, or another name's on this bridge) means we made or already adopted it:
  // an upgrade from a version without `adopt` must not refuse a bridge it has been running
  const recorded = i.previous !== null || i.records.some((r) => r.network.name === net.name || r.network.bridge === net.bridge);
  if (bridge && !recorded && !net.adopt) {
    conflicts.push(
      `network ${net.name}: ${describe(net.bridge)} already exists and natnet-hook did not create it; ` +
        'give the network another bridge, remove that one, or set adopt = true to take it over (its MAC, STP and state are rewritten; down leaves it)',
    );
  }
  if (net.ipv6) ipv6Problems(i, describe, conflicts, failures);
  if (!i.addsAddress) return { conflicts, failures };
  const ours = parseCidr(`${net.subnet}/${net.prefix}`)!;
  for (const link of links.values()) {
    if (link.name === net.bridge) continue;
    for (const a of link.addresses) {
      const c = parseCidr(a);
      if (c && c.network <= ours.broadcast && ours.network <= c.broadcast) {
        conflicts.push(
          `network ${net.name}: ${describe(link.name)} already has ${a}, which overlaps ${net.subnet}/${net.prefix}; ` +
            'remove that address or give the network another subnet (address = ...)',
        );
      }
    }
  }
  return { conflicts, failures };
}

/**
 * The IPv6 side, as libvirt checks it (src/util/virnetdevip.c virNetDevIPCheckIPv6Forwarding):
 * a kernel without IPv6; enabling forwarding while an interface learns routes from router
 * advertisements with accept_ra != 2 (the kernel would drop them: the host loses its IPv6
 * default route) unless ipv6_fix_accept_ra; another interface holding an address in our prefix.
 */
function ipv6Problems(i: PreflightInput, describe: (name: string) => string, conflicts: string[], failures: string[]): void {
  const { net, steps, links } = i;
  const v6 = net.ipv6!;
  if (i.ipv6 && !i.ipv6.kernel) {
    failures.push(`network ${net.name}: this kernel has IPv6 disabled (no /proc/sys/net/ipv6); remove ipv6 from the network or boot without ipv6.disable=1`);
    return;
  }
  const enables = steps.some((s) => s.kind === 'sysctl' && s.host === 'forwarding6');
  if (enables && i.ipv6 && !v6.fixAcceptRa) {
    for (const r of raInterfacesToFix(net.bridge, i.ipv6)) {
      conflicts.push(
        `network ${net.name}: ${r.name} has routes learned from router advertisements and accept_ra=${r.acceptRa}; enabling IPv6 forwarding would drop them. ` +
          `Run sysctl ${sysctlName(ipv6ConfKey(r.name, 'accept_ra'))}=2 (and make it persistent), or set ipv6_fix_accept_ra = true in the network`,
      );
    }
  }
  if (!i.addsAddress6) return;
  const ours = prefixOf6(v6);
  for (const link of links.values()) {
    if (link.name === net.bridge) continue;
    for (const a of link.addresses.filter((x) => x.includes(':'))) {
      const c = parseCidr6(a);
      if (c && overlaps6(c, ours)) {
        conflicts.push(
          `network ${net.name}: ${describe(link.name)} already has ${a}, which overlaps ${prefixText6(v6)}; remove that address or give the network another prefix (ipv6 = ...)`,
        );
      }
    }
  }
}

/**
 * The error `up` stops with before its first step, or null when preflight passed. Exit 3 when
 * the config conflicts with the host and nothing else is wrong; 1 when the host lacks something.
 */
export function preflightError(p: PreflightProblems): NatnetError | null {
  const lines = [...p.failures, ...p.conflicts];
  if (lines.length === 0) return null;
  return p.failures.length ? new NatnetError(lines.join('\n')) : new ConflictError(lines.join('\n'));
}
