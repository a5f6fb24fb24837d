import type { Network } from '../model/types.js';
import { parseCidr } from '../net/ipv4.js';
import type { LinkState } from '../observe/links.js';
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

/**
 * What would make `up` fail half-way or break the host, found before its first step: programs
 * its steps need that are not installed, and another interface already holding an address in
 * the network's subnet (e.g. libvirt's own network on 192.168.100.0/24: two routes for one subnet
 * and a gateway address answered twice). One line each, naming the thing and the fix. Pure.
 */
export function preflightProblems(net: Network, steps: Step[], links: Map<string, LinkState>, missingTools: string[]): string[] {
  const problems = missingTools.map((t) => `${t}: not found in PATH, and the plan for network ${net.name} needs it (install the package that provides it)`);
  if (!steps.some((s) => s.kind === 'ip-batch' && s.lines.some((l) => l.startsWith('addr add ')))) return problems;
  const ours = parseCidr(`${net.subnet}/${net.prefix}`)!;
  for (const link of links.values()) {
    if (link.name === net.bridge) continue;
    for (const a of link.addresses) {
      const c = parseCidr(a);
      if (c && c.network <= ours.broadcast && ours.network <= c.broadcast) {
        problems.push(
          `network ${net.name}: ${link.name} already has ${a}, which overlaps ${net.subnet}/${net.prefix}; remove that address or give the network another subnet (address = ...)`,
        );
      }
    }
  }
  return problems;
}
