import { type AppliedDockerUser, sameDockerUser } from '../model/applied.js';
import { type Family, familiesOf, xtablesOf, xtablesTool } from '../model/family.js';
import type { Network } from '../model/types.js';
import type { DockerFirewall, DockerUserView } from '../observe/docker.js';
import { dockerUserRules, renderDockerUserRestore, taggedBridge } from '../render/docker-user.js';
import type { Step } from './steps.js';

/** Our accepts in DOCKER-USER of one family vs what the bridge needs. */
export interface DockerUserDrift {
  family: Family;
  missing: string[];
  /** Lines tagged as ours that are not wanted (a duplicate, a bridge-nf accept no longer needed). */
  extra: string[];
  /** Some of ours sit below a rule that is not natnet-hook's (Docker's RETURN): they may never be reached. */
  misplaced: boolean;
}

export const dockerUserClean = (d: DockerUserDrift) => d.missing.length === 0 && d.extra.length === 0 && !d.misplaced;

/** A DOCKER-USER entry of the applied record, with the chain as found (null: not there). */
export interface DockerUserFound {
  entry: AppliedDockerUser;
  view: DockerUserView | null;
}

const ours = (view: DockerUserView, bridge: string) => view.rules.filter((l) => taggedBridge(l) === bridge);

/** Our lines vs the wanted ones in one DOCKER-USER chain. Pure. */
export function dockerUserDrift(family: Family, bridge: string, want: string[], view: DockerUserView): DockerUserDrift {
  const have = ours(view, bridge);
  const extra = have.filter((l, i) => !want.includes(l) || have.indexOf(l) !== i);
  const firstForeign = view.rules.findIndex((l) => taggedBridge(l) === null);
  const misplaced = firstForeign >= 0 && view.rules.some((l, i) => i > firstForeign && taggedBridge(l) === bridge);
  return { family, missing: want.filter((w) => !have.includes(w)), extra, misplaced };
}

/** The families of a network whose DOCKER-USER chain exists: where our accepts belong. Pure. */
export function wantedDockerUser(net: Network, docker: DockerFirewall): AppliedDockerUser[] {
  const variant = docker.variant;
  if (!variant) return [];
  return familiesOf(net)
    .filter((f) => docker.views[f]?.present)
    .map((family) => ({ family, iptablesVariant: variant, bridge: net.bridge }));
}

/** Drift of our accepts in each family that has a DOCKER-USER chain. Pure. */
export function dockerUserDrifts(net: Network, docker: DockerFirewall): DockerUserDrift[] {
  return wantedDockerUser(net, docker).map((e) =>
    dockerUserDrift(e.family, net.bridge, dockerUserRules(net, e.family, docker.bridgeNfCall[e.family]), docker.views[e.family]!),
  );
}

const restore = (e: Pick<AppliedDockerUser, 'family' | 'iptablesVariant'>) => [xtablesTool(e.family, e.iptablesVariant, 'restore'), '-w', '--noflush'];

/** Our accepts put (back) at the top of DOCKER-USER, in one atomic restore per family. Pure. */
export function planDockerUser(net: Network, docker: DockerFirewall): Step[] {
  return dockerUserDrifts(net, docker)
    .filter((d) => !dockerUserClean(d))
    .map((d): Step => {
      const view = docker.views[d.family]!;
      const want = dockerUserRules(net, d.family, docker.bridgeNfCall[d.family]);
      const why = `${ours(view, net.bridge).length ? 'repair' : 'add'} accepts for ${net.bridge} in Docker's ${xtablesOf(d.family)} DOCKER-USER`;
      return {
        kind: 'firewall',
        why,
        argv: restore({ family: d.family, iptablesVariant: docker.variant! }),
        input: renderDockerUserRestore(d.family, `allow ${net.name} past Docker's FORWARD policy`, ours(view, net.bridge), want),
      };
    });
}

/** Remove every line tagged with the entry's bridge from DOCKER-USER (nothing when none is there). Pure. */
export function planDockerUserRemoval(networkName: string, found: DockerUserFound): Step[] {
  const lines = found.view ? ours(found.view, found.entry.bridge) : [];
  if (lines.length === 0) return [];
  return [
    {
      kind: 'firewall',
      why: `remove accepts for ${found.entry.bridge} from Docker's ${xtablesOf(found.entry.family)} DOCKER-USER`,
      argv: restore(found.entry),
      input: renderDockerUserRestore(found.entry.family, `remove ${networkName}'s accepts`, lines, []),
    },
  ];
}

/**
 * Entries of the record an up no longer wants (another bridge, variant or family; Docker gone).
 * An entry of a family that could not be read now is neither wanted nor stale: it stays recorded
 * until it can be checked. Pure.
 */
export function staleDockerUser(record: AppliedDockerUser[], wanted: AppliedDockerUser[], unread: readonly Family[] = []): AppliedDockerUser[] {
  return record.filter((e) => !unread.includes(e.family) && !wanted.some((w) => sameDockerUser(e, w)));
}

/** What the record keeps after an up: the wanted entries, and the recorded ones of families that could not be read. Pure. */
export function keptDockerUser(record: AppliedDockerUser[], wanted: AppliedDockerUser[], unread: readonly Family[]): AppliedDockerUser[] {
  return [...wanted, ...record.filter((e) => unread.includes(e.family) && !wanted.some((w) => sameDockerUser(e, w)))];
}
