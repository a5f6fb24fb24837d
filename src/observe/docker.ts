import type { Family } from '../model/family.js';
import { DOCKER_USER } from '../render/docker-user.js';
import type { Runner } from '../sys/runner.js';
import type { IptablesDump } from './iptables.js';

/** Docker's DOCKER-USER chain in one family's filter table, as found. */
export interface DockerUserView {
  present: boolean;
  /** The "-A DOCKER-USER ..." lines, in order. */
  rules: string[];
  /** The filter FORWARD policy (ACCEPT, DROP), or null when the table has no FORWARD chain. */
  forwardPolicy: string | null;
}

/** DOCKER-USER and the FORWARD policy in an iptables-save dump. Pure. */
export function dockerUserOf(dump: IptablesDump): DockerUserView {
  const chains = dump.chains.get('filter');
  const strict = (dump.strictPolicies.get('filter') ?? []).find((p) => p.startsWith('FORWARD '));
  return {
    present: !!chains?.has(DOCKER_USER),
    rules: (dump.rules.get('filter') ?? []).filter((l) => l.startsWith(`-A ${DOCKER_USER} `)),
    forwardPolicy: strict ? strict.split(' ')[1] : chains?.has('FORWARD') ? 'ACCEPT' : null,
  };
}

/** Whether `nft list tables` text names Docker's nftables firewall table (docker-bridges, any family). Pure. */
export function hasDockerBridgesTable(text: string): boolean {
  return text.split('\n').some((l) => /^table (ip|ip6|inet) docker-bridges$/.test(l.trim()));
}

export async function observeDockerBridgesTable(runner: Runner): Promise<boolean> {
  const r = await runner.run(['nft', 'list', 'tables'], { readOnly: true, allowFailure: true });
  return r.code === 0 && hasDockerBridgesTable(r.stdout);
}

/**
 * net.bridge.bridge-nf-call-iptables / -ip6tables: bridged frames pass iptables too. Absent
 * (br_netfilter not loaded) is off. Read only: we never change them.
 */
export function bridgeNfCall(family: Family, read: (path: string) => string | null): boolean {
  const file = family === 'ipv6' ? 'bridge-nf-call-ip6tables' : 'bridge-nf-call-iptables';
  return read(`/proc/sys/net/bridge/${file}`)?.trim() === '1';
}

/** Docker's firewall on this host as natnet-hook sees it (host-wide, read once per run). */
/** Docker's firewall is on this host: a DOCKER-USER chain in some family, or its nftables table. */
export function dockerFirewallFound(d: DockerFirewall): boolean {
  return Object.values(d.views).some((v) => v?.present) || d.nftDockerBridges;
}

export interface DockerFirewall {
  /** The iptables variant DOCKER-USER was read with (the host's); null: no iptables binary. */
  variant: 'nft' | 'legacy' | null;
  /** DOCKER-USER per family; absent: not read (no binary, or the read failed). */
  views: Partial<Record<Family, DockerUserView>>;
  /** Families whose filter table could not be read (status without root; no ip6tables). */
  unread: Family[];
  bridgeNfCall: Record<Family, boolean>;
  /** Docker's nftables firewall (`firewall-backend: nftables`): a docker-bridges table. */
  nftDockerBridges: boolean;
}
