import { readFileSync } from 'node:fs';
import type { AppliedRecord } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { type IptablesDump, type IptablesVariant, observeIptables } from '../observe/iptables.js';
import { type LinkState, observeLinks } from '../observe/links.js';
import { observeNftTable } from '../observe/nft.js';
import { isOurDnsmasq, readIpForward, readPidFile } from '../observe/procfs.js';
import { type FirewallDrift, iptablesDrift, nftDrift } from '../plan/firewall-drift.js';
import type { NetworkObservation } from '../plan/plan-network.js';
import type { TeardownObservation } from '../plan/plan-teardown.js';
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
  private dumps = new Map<IptablesVariant, Promise<IptablesDump>>();
  constructor(private readonly ctx: Context) {}

  getLinks() {
    this.links ??= observeLinks(this.ctx.runner);
    return this.links;
  }

  iptables(variant: IptablesVariant) {
    let d = this.dumps.get(variant);
    if (!d) {
      d = observeIptables(this.ctx.runner, variant);
      this.dumps.set(variant, d);
    }
    return d;
  }

  /** After changes, facts must be read again. */
  invalidate() {
    this.links = undefined;
    this.dumps.clear();
  }

  async drift(net: Network, choice: BackendChoice): Promise<FirewallDrift> {
    if (choice.backend === 'nftables') return nftDrift(net, await observeNftTable(this.ctx.runner, nftTable(net)));
    return iptablesDrift(net, await this.iptables(choice.variant!));
  }

  dnsmasqPid(paths: DnsmasqPaths): number | null {
    const pid = readPidFile(paths.pid);
    return pid !== null && isOurDnsmasq(pid, paths.conf) ? pid : null;
  }

  async network(net: Network, choice: BackendChoice, paths: DnsmasqPaths, record: AppliedRecord | null): Promise<NetworkObservation> {
    const [links, drift] = await Promise.all([this.getLinks(), this.drift(net, choice)]);
    return {
      links,
      forwarding: readIpForward(),
      drift,
      confText: readTextOrNull(paths.conf),
      hostsText: readTextOrNull(paths.hosts),
      dnsmasqPid: this.dnsmasqPid(paths),
      record,
    };
  }

  async teardown(rec: AppliedRecord): Promise<TeardownObservation> {
    const links = await this.getLinks();
    const iptables = rec.backend === 'iptables' && rec.iptablesVariant ? await this.iptables(rec.iptablesVariant) : null;
    const nftTablePresent = rec.backend === 'nftables' && (await observeNftTable(this.ctx.runner, nftTable(rec.network))) !== null;
    return { links, iptables, nftTablePresent, dnsmasqPid: this.dnsmasqPid(rec.dnsmasq) };
  }
}
