import { readFileSync } from 'node:fs';
import type { AppliedDockerUser, AppliedFirewall, AppliedRecord } from '../model/applied.js';
import { type Family, FAMILIES } from '../model/family.js';
import { bridgeNfCall, type DockerFirewall, type DockerUserView, dockerUserOf, observeDockerBridgesTable } from '../observe/docker.js';
import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';
import { availableIptablesVariants, detectIptablesVariant, type IptablesDump, type IptablesVariant, observeIptables } from '../observe/iptables.js';
import { observeIpv6, readPresentSysctls6 } from '../observe/ipv6.js';
import { type LinkState, observeLinks } from '../observe/links.js';
import { observeNftTable } from '../observe/nft.js';
import { findOurDnsmasq, readIpForward, scanOurDnsmasq } from '../observe/procfs.js';
import { type FirewallDrift, iptablesDrift, nftDrift } from '../plan/firewall-drift.js';
import type { NetworkObservation } from '../plan/plan-network.js';
import type { DockerUserFound } from '../plan/docker-user.js';
import type { FirewallFound, TeardownObservation } from '../plan/plan-teardown.js';
import { nftTable } from '../render/names.js';
import type { DnsmasqPaths } from '../render/dnsmasq.js';
import type { BackendChoice } from './backend.js';
import type { Context } from './context.js';

export function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Host-wide facts, each read once per run however many networks there are. */
export class HostObserver {
  private links?: Promise<Map<string, LinkState>>;
  private dumps = new Map<string, Promise<IptablesDump>>();
  constructor(private readonly ctx: Context) {}

  getLinks() {
    this.links ??= observeLinks(this.ctx.runner);
    return this.links;
  }

  iptables(variant: IptablesVariant, family: Family = 'ipv4') {
    const key = `${family} ${variant}`;
    let d = this.dumps.get(key);
    if (!d) {
      d = observeIptables(this.ctx.runner, variant, family);
      this.dumps.set(key, d);
    }
    return d;
  }

  /** DOCKER-USER of one family and variant, or null when it cannot be read (no binary, no root, no ip6_tables). */
  async dockerUserView(family: Family, variant: IptablesVariant): Promise<DockerUserView | null> {
    try {
      return dockerUserOf(await this.iptables(variant, family));
    } catch {
      return null;
    }
  }

  /**
   * Docker's firewall, for the given families (an up reads only those its network uses: the IPv4
   * dump is the one our own iptables rules were read from). `nftTable`: also look for Docker's
   * nftables table (status).
   */
  async docker(families: readonly Family[] = FAMILIES, nftTable = false): Promise<DockerFirewall> {
    const variant = detectIptablesVariant();
    const views: DockerFirewall['views'] = {};
    const unread: Family[] = [];
    if (variant) {
      // each family's dump in parallel (IPv4 and IPv6: two processes at once)
      const found = await Promise.all(families.map((f) => this.dockerUserView(f, variant)));
      families.forEach((f, i) => {
        if (found[i]) views[f] = found[i];
        else unread.push(f);
      });
    }
    return {
      variant,
      views,
      unread,
      bridgeNfCall: { ipv4: bridgeNfCall('ipv4', readTextOrNull), ipv6: bridgeNfCall('ipv6', readTextOrNull) },
      nftDockerBridges: nftTable ? await observeDockerBridgesTable(this.ctx.runner) : false,
    };
  }

  /** Each DOCKER-USER entry as found. */
  dockerUserFound(entries: AppliedDockerUser[]): Promise<DockerUserFound[]> {
    return Promise.all(entries.map(async (entry) => ({ entry, view: await this.dockerUserView(entry.family, entry.iptablesVariant) })));
  }

  /** ip6tables-save of the variant, or null when it cannot be read (no ip6tables, a kernel without IPv6). */
  ip6tables(variant: IptablesVariant): Promise<IptablesDump | null> {
    return this.iptables(variant, 'ipv6').then(
      (d) => d,
      () => null,
    );
  }

  /** After changes, facts must be read again. */
  invalidate() {
    this.links = undefined;
    this.dumps.clear();
  }

  /**
   * Our rules vs the network's. `ipv6`: look at the IPv6 side too — when the network has IPv6, or
   * its applied record had (our IPv6 rules may remain and must go); an IPv4-only network costs no
   * extra process.
   */
  async drift(net: Network, choice: BackendChoice, forwards: ResolvedForward[] = [], ipv6 = !!net.ipv6): Promise<FirewallDrift> {
    if (choice.backend === 'nftables') {
      const [t4, t6] = await Promise.all([observeNftTable(this.ctx.runner, nftTable(net)), ipv6 ? observeNftTable(this.ctx.runner, nftTable(net), 'ip6') : undefined]);
      return nftDrift(net, t4, forwards, t6);
    }
    const [d4, d6] = await Promise.all([this.iptables(choice.variant!), ipv6 ? this.ip6tables(choice.variant!) : undefined]);
    return iptablesDrift(net, d4, forwards, d6);
  }

  /** Our dnsmasq for these paths (pid file as a hint, /proc as the proof), or null. */
  dnsmasqPid(paths: DnsmasqPaths): number | null {
    return findOurDnsmasq(paths.conf, paths.pid)[0] ?? null;
  }

  async network(
    net: Network,
    choice: BackendChoice,
    paths: DnsmasqPaths,
    record: AppliedRecord | null,
    forwards: ResolvedForward[] = [],
  ): Promise<NetworkObservation> {
    const wantsV6 = !!net.ipv6 || !!record?.network.ipv6;
    const [links, drift, ipv6] = await Promise.all([
      this.getLinks(),
      this.drift(net, choice, forwards, wantsV6),
      wantsV6 ? observeIpv6(this.ctx.runner, net.bridge) : undefined,
    ]);
    return {
      ...(ipv6 ? { ipv6 } : {}),
      links,
      forwarding: readIpForward(),
      drift,
      ...(wantsV6 && choice.backend === 'iptables' && choice.variant ? { ip6tablesDump: await this.ip6tables(choice.variant) } : {}),
      confText: readTextOrNull(paths.conf),
      hostsText: readTextOrNull(paths.hosts),
      dnsmasqPid: this.dnsmasqPid(paths),
      record,
    };
  }

  /** Our rules of each firewall (backend, variant, bridge) as found on the host; `ipv6`: our IPv6 rules too. */
  firewalls(net: Network, wanted: AppliedFirewall[], ipv6: boolean): Promise<FirewallFound[]> {
    return Promise.all(
      wanted.map(async (w): Promise<FirewallFound> =>
        w.backend === 'nftables' || !w.iptablesVariant
          ? {
              backend: 'nftables',
              bridge: w.bridge,
              tablePresent: (await observeNftTable(this.ctx.runner, nftTable({ ...net, bridge: w.bridge }))) !== null,
              table6Present: ipv6 && (await observeNftTable(this.ctx.runner, nftTable({ ...net, bridge: w.bridge }), 'ip6')) !== null,
            }
          : {
              backend: 'iptables',
              bridge: w.bridge,
              variant: w.iptablesVariant,
              dump: await this.iptables(w.iptablesVariant),
              dump6: ipv6 ? await this.ip6tables(w.iptablesVariant) : null,
            },
      ),
    );
  }

  /**
   * What a teardown needs. `everyBackend`: the record was bad, so the backend it used is
   * unknown: look for our rules in nftables and in each available iptables variant.
   */
  async teardown(rec: AppliedRecord, paths: DnsmasqPaths, everyBackend = false): Promise<TeardownObservation> {
    const wanted: AppliedFirewall[] = everyBackend
      ? [...new Set([...rec.links.bridges.map((b) => b.name), ...rec.firewalls.map((f) => f.bridge)])].flatMap((bridge) => [
          { backend: 'nftables' as const, iptablesVariant: null, bridge },
          ...availableIptablesVariants().map((v) => ({ backend: 'iptables' as const, iptablesVariant: v, bridge })),
        ])
      : rec.firewalls;
    const bridges = [...new Set([...rec.links.bridges.map((b) => b.name), ...rec.firewalls.map((f) => f.bridge)])];
    const dockerWanted: AppliedDockerUser[] = everyBackend
      ? bridges.flatMap((bridge) => availableIptablesVariants().flatMap((iptablesVariant) => FAMILIES.map((family) => ({ family, iptablesVariant, bridge }))))
      : (rec.dockerUser ?? []);
    const [links, firewalls, dockerUser] = await Promise.all([
      this.getLinks(),
      this.firewalls(rec.network, wanted, everyBackend || !!rec.network.ipv6),
      this.dockerUserFound(dockerWanted),
    ]);
    const bridgeSysctls6 = new Map(rec.links.bridges.filter((b) => b.sysctls6).map((b) => [b.name, readPresentSysctls6(b.name, Object.keys(b.sysctls6!))]));
    // a teardown stops every dnsmasq of ours (an orphan of an earlier run included), not just the pid file's
    return { links, firewalls, dnsmasqPids: scanOurDnsmasq(paths.conf), dockerUser, bridgeSysctls6 };
  }
}
