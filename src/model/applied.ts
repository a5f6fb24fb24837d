import type { Family } from './family.js';
import type { BridgeSysctl6 } from '../observe/ipv6.js';
import type { Backend, Network } from './types.js';

export type { Backend };

/** A bridge `up` put (or found) a network on; `down` deletes it only if `created` and still our kind and MAC. */
export interface AppliedBridge {
  name: string;
  /** We created (or were about to create) it; else it pre-existed and down leaves it. */
  created: boolean;
  /** Addresses we added to it (one, or two while an address change is under way); others stay on down. */
  addresses: string[];
  /**
   * Bridges of ours it replaced (renamed from), newest last: a running VM whose hook record still
   * names one (its domain XML does) is this bridge's VM, e.g. when a deleted bridge is repaired.
   * Only ever used to find such VMs' taps, never to delete anything.
   */
  replaced?: string[];
  /**
   * IPv6 sysctls of a bridge we did not create, as they were before we changed them (only those
   * we changed): `down` puts them back. A bridge we created goes, and its settings with it.
   */
  sysctls6?: Partial<Record<BridgeSysctl6, string>>;
}

export interface AppliedDummy {
  name: string;
  created: boolean;
}

/** Our rules in one firewall backend; their names derive from the bridge (render/names.ts). */
export interface AppliedFirewall {
  backend: Backend;
  iptablesVariant: 'nft' | 'legacy' | null;
  bridge: string;
}

/** Our tagged accepts in Docker's DOCKER-USER chain of one family and iptables variant, for one bridge. */
export interface AppliedDockerUser {
  family: Family;
  iptablesVariant: 'nft' | 'legacy';
  bridge: string;
}

/**
 * What `up` put on this host for one network, per component; `down` removes exactly this (each
 * link only after checking it is the kind and MAC we created). Lives in
 * <runDir>/applied/<network>.json and is written BEFORE each change is made (write-ahead): while
 * a change is under way (a firewall switch, a bridge rename) it lists the old component and the
 * new one, so a `down` after a crash at any point finds everything that may exist. Paths are
 * never stored: they derive from the layout.
 */
export interface AppliedRecord {
  /** The network as applied (or being applied), for "config changed, not applied" comparisons. */
  network: Network;
  links: { bridges: AppliedBridge[]; dummies: AppliedDummy[] };
  firewalls: AppliedFirewall[];
  /** Our accepts in Docker's DOCKER-USER (absent in records written before they existed: none). */
  dockerUser?: AppliedDockerUser[];
  /** Our dnsmasq for this network was started (it is found by its --conf-file, never by a stored pid). */
  dnsmasq: boolean;
  /** Why there is no dummy although one is configured (kernel without the dummy netdev). */
  dummyUnsupported: string | null;
  appliedAt: string;
}

/**
 * Host-wide changes `up` made that belong to no single network (<runDir>/host-changes.json):
 * put back by the `down` that leaves no network applied, whichever network made them.
 */
export interface HostChanges {
  /** ip_forward was 0 and we set it. */
  enabledForwarding: boolean;
  /**
   * iptables-nft tables, and built-in chains ("filter INPUT"), that did not exist before our
   * rules: deleted again once empty, so the nft ruleset ends as it began.
   */
  iptablesTablesCreated: ('nat' | 'filter')[];
  iptablesChainsCreated: string[];
  /** net.ipv6.conf.all.forwarding was 0 and we set it (absent in records of older versions: false). */
  enabledForwarding6?: boolean;
  /** Interfaces with RA-learned routes whose accept_ra we set to 2 (ipv6_fix_accept_ra), with the value before. */
  acceptRaFixed?: { iface: string; was: string }[];
  /** The same for ip6tables-nft (family ip6); absent in files written before IPv6. */
  ip6tablesCreated?: { tables: ('nat' | 'filter')[]; chains: string[] };
}

export const sameFirewall = (a: AppliedFirewall, b: AppliedFirewall) =>
  a.backend === b.backend && a.iptablesVariant === b.iptablesVariant && a.bridge === b.bridge;

export const sameDockerUser = (a: AppliedDockerUser, b: AppliedDockerUser) =>
  a.family === b.family && a.iptablesVariant === b.iptablesVariant && a.bridge === b.bridge;

/** Everything either record claims (write-ahead of a change: the old components and the new). */
export function unionRecords(a: AppliedRecord, b: AppliedRecord): AppliedRecord {
  const bridges = [...a.links.bridges];
  for (const br of b.links.bridges) {
    const i = bridges.findIndex((x) => x.name === br.name);
    if (i < 0) bridges.push(br);
    else {
      const replaced = [...new Set([...(bridges[i].replaced ?? []), ...(br.replaced ?? [])])];
      bridges[i] = {
        name: br.name,
        created: bridges[i].created || br.created,
        addresses: [...new Set([...bridges[i].addresses, ...br.addresses])],
        ...(replaced.length ? { replaced } : {}),
        ...(bridges[i].sysctls6 || br.sysctls6 ? { sysctls6: { ...br.sysctls6, ...bridges[i].sysctls6 } } : {}),
      };
    }
  }
  const dummies = [...a.links.dummies];
  for (const d of b.links.dummies) {
    const i = dummies.findIndex((x) => x.name === d.name);
    if (i < 0) dummies.push(d);
    else dummies[i] = { name: d.name, created: dummies[i].created || d.created };
  }
  return {
    ...b,
    links: { bridges, dummies },
    firewalls: [...a.firewalls.filter((f) => !b.firewalls.some((g) => sameFirewall(f, g))), ...b.firewalls],
    ...dockerUserUnion(a.dockerUser ?? [], b.dockerUser ?? []),
    dnsmasq: a.dnsmasq || b.dnsmasq,
  };
}

function dockerUserUnion(a: AppliedDockerUser[], b: AppliedDockerUser[]): Pick<AppliedRecord, 'dockerUser'> {
  const all = [...a.filter((x) => !b.some((y) => sameDockerUser(x, y))), ...b];
  return all.length ? { dockerUser: all } : {};
}
