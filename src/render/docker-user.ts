import { type Family, xtablesOf } from '../model/family.js';

/** Docker's chain for other software's rules (docs.docker.com: "Docker and iptables"). */
export const DOCKER_USER = 'DOCKER-USER';

/** The comment that marks our rules in DOCKER-USER, one per bridge: how we find exactly ours. */
export const dockerUserTag = (bridge: string) => `natnet-hook ${bridge}`;

const TAGGED = /-m comment --comment "natnet-hook ([^"\s]+)"/;

/** The bridge a DOCKER-USER line is tagged with, or null when it is not ours. */
export function taggedBridge(line: string): string | null {
  return TAGGED.exec(line)?.[1] ?? null;
}

/**
 * Our accepts in DOCKER-USER for one bridge, exactly as `iptables-save` prints them: traffic from
 * the bridge, replies and DNATed connections to it, and (when br_netfilter passes bridged frames
 * through iptables) traffic between the bridge's ports. Docker's FORWARD policy DROP would
 * otherwise drop them; an accept in our own nft table does not override a drop in iptables.
 */
export function dockerUserRules(bridge: string, bridgeNfCall: boolean): string[] {
  const tag = `-m comment --comment "${dockerUserTag(bridge)}" -j ACCEPT`;
  return [
    ...(bridgeNfCall ? [`-A ${DOCKER_USER} -i ${bridge} -o ${bridge} ${tag}`] : []),
    `-A ${DOCKER_USER} -i ${bridge} ${tag}`,
    `-A ${DOCKER_USER} -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT ${tag}`,
  ];
}

/**
 * Input for `iptables-restore --noflush` (filter table only): deletes the given lines (each as
 * iptables-save printed it) and inserts `insert` at the top of DOCKER-USER in order, before
 * Docker's RETURN. Never declares or flushes the chain: it is Docker's.
 */
export function renderDockerUserRestore(family: Family, what: string, remove: string[], insert: string[]): string {
  const lines = [`# natnet-hook: ${what} (${xtablesOf(family)} ${DOCKER_USER})`, '*filter'];
  for (const l of remove) lines.push(l.replace(/^-A /, '-D '));
  for (const l of [...insert].reverse()) lines.push(l.replace(`-A ${DOCKER_USER} `, `-I ${DOCKER_USER} 1 `));
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}
