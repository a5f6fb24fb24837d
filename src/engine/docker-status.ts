import { type Family, xtablesOf } from '../model/family.js';
import type { Network } from '../model/types.js';
import { type DockerFirewall, dockerFirewallFound } from '../observe/docker.js';
import { type DockerUserDrift, dockerUserClean, dockerUserDrifts } from '../plan/docker-user.js';

/** Docker's firewall on this host (README "status --json": `docker`). */
export interface DockerStatus {
  /** A DOCKER-USER chain (either family) or Docker's docker-bridges nft table exists. */
  found: boolean;
  /** The iptables variant DOCKER-USER is read and written with; null: no iptables binary. */
  iptablesVariant: 'nft' | 'legacy' | null;
  /** Per family read: whether DOCKER-USER exists, the filter FORWARD policy, net.bridge.bridge-nf-call-ip(6)tables. */
  families: { family: Family; dockerUser: boolean; forwardPolicy: string | null; bridgeNfCall: boolean }[];
  nftDockerBridges: boolean;
  /** Why a family could not be checked (status without root), else null. */
  unchecked: string | null;
}

/** Our accepts in one family's DOCKER-USER for a network (README "status --json": `networks[].docker`). */
export interface NetworkDockerStatus {
  family: Family;
  state: 'present' | 'missing' | 'misplaced';
  missing: string[];
  extra: string[];
}

export function dockerStatus(d: DockerFirewall): DockerStatus {
  const families = (Object.keys(d.views) as Family[]).map((family) => ({
    family,
    dockerUser: d.views[family]!.present,
    forwardPolicy: d.views[family]!.forwardPolicy,
    bridgeNfCall: d.bridgeNfCall[family],
  }));
  return {
    found: dockerFirewallFound(d),
    iptablesVariant: d.variant,
    families,
    nftDockerBridges: d.nftDockerBridges,
    unchecked: d.unread.length ? `${d.unread.map(xtablesOf).join(', ')} rules not readable (run status as root)` : null,
  };
}

const stateOf = (x: DockerUserDrift): NetworkDockerStatus['state'] => (x.missing.length ? 'missing' : x.misplaced ? 'misplaced' : 'present');

/** Our accepts per family whose DOCKER-USER exists, and the problems of those not as they should be. Pure. */
export function networkDockerStatus(net: Network, d: DockerFirewall): { docker: NetworkDockerStatus[]; problems: string[] } {
  const drifts = dockerUserDrifts(net, d);
  const problems = drifts
    .filter((x) => !dockerUserClean(x))
    .map((x) => {
      const what = x.missing.length ? 'lacks' : x.misplaced ? 'has below a rule of its own' : 'has extra copies of';
      return `Docker's ${xtablesOf(x.family)} DOCKER-USER ${what} natnet-hook's accepts for ${net.bridge} (Docker's FORWARD policy may drop the VMs' traffic; \`natnet-hook up\` puts them back)`;
    });
  return { docker: drifts.map((x) => ({ family: x.family, state: stateOf(x), missing: x.missing, extra: x.extra })), problems };
}

/** One line for `status`: what was found and what natnet-hook does about it. */
export function dockerStatusLine(s: DockerStatus): string | null {
  if (!s.found) return s.unchecked ? `docker: not checked: ${s.unchecked}` : null;
  const parts: string[] = [];
  for (const f of s.families.filter((x) => x.dockerUser)) {
    parts.push(`${xtablesOf(f.family)}-${s.iptablesVariant}: FORWARD policy ${f.forwardPolicy ?? '?'}, DOCKER-USER present, bridge-nf-call-${xtablesOf(f.family)} ${f.bridgeNfCall ? 'on' : 'off'}`);
  }
  if (s.nftDockerBridges) parts.push('nftables table docker-bridges present');
  const did = s.families.some((f) => f.dockerUser)
    ? 'natnet-hook keeps its tagged accepts ("natnet-hook <bridge>") at the top of DOCKER-USER'
    : 'no DOCKER-USER chain: natnet-hook adds nothing to Docker\'s rules';
  return `docker: firewall found: ${parts.join('; ')}; ${did}${s.unchecked ? ` (${s.unchecked})` : ''}`;
}
