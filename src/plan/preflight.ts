import { ConflictError, NatnetError } from '../errors.js';
import type { AppliedRecord } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { parseCidr } from '../net/ipv4.js';
import type { LinkState } from '../observe/links.js';
import { installHint } from '../observe/tools.js';
import type { Step } from './steps.js';

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
  const { net, steps, links } = i;
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
  if (!steps.some((s) => s.kind === 'ip-batch' && s.lines.some((l) => l.startsWith('addr add ')))) return { conflicts, failures };
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
 * The error `up` stops with before its first step, or null when preflight passed. Exit 3 when
 * the config conflicts with the host and nothing else is wrong; 1 when the host lacks something.
 */
export function preflightError(p: PreflightProblems): NatnetError | null {
  const lines = [...p.failures, ...p.conflicts];
  if (lines.length === 0) return null;
  return p.failures.length ? new NatnetError(lines.join('\n')) : new ConflictError(lines.join('\n'));
}
