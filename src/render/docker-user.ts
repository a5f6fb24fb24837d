import { type Family, xtablesOf } from '../model/family.js';
import type { Network } from '../model/types.js';
import { prefixText6 } from '../net/ipv6.js';

/** Docker's chain for other software's rules (docs.docker.com: "Docker and iptables"). */
export const DOCKER_USER = 'DOCKER-USER';

/** The comment that marks our rules in DOCKER-USER, one per bridge: how we find exactly ours. */
export const dockerUserTag = (bridge: string) => `natnet-hook ${bridge}`;

const TAGGED = /-m comment --comment "natnet-hook ([^"\s]+)"/;

/** The bridge a DOCKER-USER line is tagged with, or null when it is not ours. */
export function taggedBridge(line: string): string | null {
  return TAGGED.exec(line)?.[1] ?? null;
}

export type DockerUserNet = Pick<Network, 'bridge' | 'subnet' | 'prefix' | 'outbound' | 'ipv6'>;

/** The network's prefix in one family, as iptables-save prints it. */
function prefixOf(net: DockerUserNet, family: Family): string {
  if (family === 'ipv6' && net.ipv6) return prefixText6(net.ipv6);
  return `${net.subnet}/${net.prefix}`;
}

/**
 * Our accepts in DOCKER-USER for one network and family, exactly as `iptables-save` prints them:
 * what our own FORWARD rules accept and nothing more — the network's prefix leaving the bridge
 * (through `outbound` when set), replies and DNATed connections to it, and (when br_netfilter
 * passes bridged frames through iptables) traffic between the bridge's ports. A bare
 * `-i <bridge>` accept would also let VMs past Docker's isolation and past `outbound`. Docker's
 * FORWARD policy DROP would otherwise drop them; an accept in our own nft table does not override
 * a drop in iptables.
 */
export function dockerUserRules(net: DockerUserNet, family: Family, bridgeNfCall: boolean): string[] {
  const br = net.bridge;
  const s = prefixOf(net, family);
  const out = net.outbound ? ` -o ${net.outbound}` : '';
  const tag = `-m comment --comment "${dockerUserTag(br)}" -j ACCEPT`;
  return [
    ...(bridgeNfCall ? [`-A ${DOCKER_USER} -i ${br} -o ${br} ${tag}`] : []),
    `-A ${DOCKER_USER} -s ${s} -i ${br}${out} ${tag}`,
    `-A ${DOCKER_USER} -d ${s} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT ${tag}`,
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
