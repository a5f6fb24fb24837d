/**
 * The one engine every caller uses (CLI, hooks, listener, selftest):
 * desired state (config) -> observed state -> plan -> apply, under one host-wide lock.
 */
import { withEngineLock } from '../state/lock.js';
import { assertTrustedDirs } from '../state/trust.js';
import { existsSync } from 'node:fs';
import { type LoadOptions, loadConfig, type LoadedConfig } from '../config/load.js';
import { NatnetError, UsageError } from '../errors.js';
import type { DomainRecord, Network } from '../model/types.js';
import type { Context } from './context.js';
import { readDomainRecords, writeDomainRecord } from './domains.js';
import { departedFrom, forgetLeases, startDnsmasqIfStopped } from './forget-leases.js';
import { applyNetwork, releaseHostChanges, teardownFromEvidence, teardownRecord } from './network.js';
import { ensureIpv6Prefixes } from './ipv6-prefix.js';
import { isUnresolvedIpv6 } from '../config/network-ipv6.js';
import { HostObserver } from './observe.js';
import { describeRunning, runningTapsOn } from '../plan/running-vms.js';
import { quarantinedNetworks, readRecords } from './records.js';

export interface UpOptions {
  /** Network names; default: every configured network. */
  networks?: string[];
  /** Record (or refresh) this VM's hook-learned facts before planning, under the same lock. */
  domain?: DomainRecord;
  /** Several VMs starting together (the hooks' group commit of prepares): each as `domain`. */
  domains?: DomainRecord[];
  /** Why this run happens, for the log (e.g. "hook prepare", "listener: firewalld Reloaded"). */
  reason?: string;
  /**
   * Networks to bring up only if they are still applied once the lock is held (the listener's
   * repairs: a `down` that ran while the repair waited for the lock must stay down). With this
   * option, `networks` holds only the unconditional ones.
   */
  ifApplied?: string[];
  /**
   * 'applied': a network that has an applied record is brought to the Network it was last
   * applied as (record.network), not to the config's (the listener repairs drift without
   * adopting edits nobody asked to apply). Default 'config'.
   */
  networksFrom?: NetworksFrom;
  /**
   * MACs of a VM that migrated away: its dnsmasq leases leave the lease files of the networks
   * applied in this run (each just before its apply, which starts dnsmasq again) and of the
   * `ifApplied` ones that stay down (forget-leases.ts). No other network is touched.
   */
  forgetLeasesOf?: string[];
}

export type NetworksFrom = 'config' | 'applied';

/**
 * The Networks `up` aims at. 'applied': each network with an applied record as it was last
 * applied, then the config's networks that have none, then applied ones the config no longer has.
 */
export function desiredNetworks(configured: Network[], records: { network: Network }[], from: NetworksFrom = 'config'): Network[] {
  if (from === 'config') return configured;
  const applied = new Map(records.map((r) => [r.network.name, r.network]));
  const names = new Set(configured.map((n) => n.name));
  return [...configured.map((n) => applied.get(n.name) ?? n), ...records.map((r) => r.network).filter((n) => !names.has(n.name))];
}

export interface NetworkChange {
  network: string;
  /** Human-readable actions taken (or, in dry-run, to take); empty when nothing had to change. */
  actions: string[];
  /** What up left in place and why (e.g. an old bridge that is not ours); not actions. */
  notes?: string[];
}

export function selectNetworks(all: Network[], names: string[] | undefined): Network[] {
  if (!names || names.length === 0) return all;
  const unknown = names.filter((n) => !all.some((net) => net.name === n));
  if (unknown.length) {
    throw new UsageError(`unknown network ${unknown.map((n) => JSON.stringify(n)).join(', ')} (configured: ${all.map((n) => n.name).join(', ')})`);
  }
  return all.filter((net) => names.includes(net.name));
}

/** Bring networks to their desired state. Idempotent: a second run changes nothing. */
export async function up(ctx: Context, opts: UpOptions = {}): Promise<NetworkChange[]> {
  validateBeforeFirstLock(ctx, { domain: opts.domain, domains: opts.domains });
  return withEngineLock(ctx, async () => {
    const config = loadConfig(ctx, { domain: opts.domain, domains: opts.domains });
    return upLocked(ctx, config, opts);
  });
}

/**
 * Taking the lock creates the state directory. On a host where it does not exist yet, a bad
 * config must fail before that, so that an invalid first run leaves nothing behind.
 */
export function validateBeforeFirstLock(ctx: Context, opts: LoadOptions = {}): void {
  if (!existsSync(ctx.runDir)) loadConfig(ctx, opts);
}

/** For callers that already hold the lock and loaded the config (e.g. `lease add`). */
export async function upLocked(ctx: Context, loaded: LoadedConfig, opts: UpOptions = {}): Promise<NetworkChange[]> {
  let config = loaded;
  for (const w of config.warnings) ctx.log.warn(w);
  for (const d of [...(opts.domain ? [opts.domain] : []), ...(opts.domains ?? [])]) writeDomainRecord(ctx, d);
  const applied = opts.ifApplied ? appliedNetworks(ctx) : [];
  const names = opts.ifApplied ? [...new Set([...(opts.networks ?? []), ...opts.ifApplied.filter((n) => applied.includes(n))])] : opts.networks;
  const idle = (opts.ifApplied ?? []).filter((n) => !names?.includes(n));
  const forget = opts.forgetLeasesOf?.length ? opts.forgetLeasesOf : null;
  // a network that stays down forgets too (its lease file is read when it next starts), with no dnsmasq to stop
  const forgotten = forget ? await forgetLeasesWhileDown(ctx, config, idle, forget) : new Map<string, string[]>();
  if (opts.ifApplied && names?.length === 0) return [...forgotten].map(([network, actions]) => ({ network, actions }));
  const records = readRecords(ctx);
  // a network with `ipv6 = "auto"` and no prefix yet gets one (kept in the state) before planning
  const wanted = selectNetworks(desiredNetworks(config.networks, opts.networksFrom === 'applied' ? records : [], opts.networksFrom), names);
  config = { ...config, networks: await ensureIpv6Prefixes(ctx, config.networks, records, new Set(wanted.map((n) => n.name))) };
  const nets = wanted.map((n) => (n.ipv6 && isUnresolvedIpv6(n.ipv6) ? (config.networks.find((c) => c.name === n.name) ?? n) : n));
  const host = new HostObserver(ctx);
  const changes: NetworkChange[] = [];
  for (const net of nets) {
    // only in a network applied right here, which starts the dnsmasq it stopped again
    const forgot = forget ? await forgetLeases(ctx, net, departedFrom(net, config, forget)) : { actions: [], stopped: false };
    let done: Awaited<ReturnType<typeof applyNetwork>>;
    try {
      done = await applyNetwork(ctx, host, config, net);
    } finally {
      if (forgot.stopped) await startDnsmasqIfStopped(ctx, net);
    }
    const { actions, notes } = done;
    changes.push({ network: net.name, actions: [...forgot.actions, ...actions], ...(notes.length ? { notes } : {}) });
  }
  for (const [network, actions] of forgotten) changes.push({ network, actions });
  if (opts.reason) ctx.log.debug({ reason: opts.reason, changes }, 'up done');
  return changes;
}

/** forgetLeases in configured networks that are not applied now (a running dnsmasq there is left alone): network → what was done. */
async function forgetLeasesWhileDown(ctx: Context, config: LoadedConfig, names: string[], macs: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const name of new Set(names)) {
    const net = config.networks.find((n) => n.name === name);
    if (!net) continue;
    const { actions } = await forgetLeases(ctx, net, departedFrom(net, config, macs), false);
    if (actions.length) out.set(name, actions);
  }
  return out;
}

export interface DownOptions {
  /** Network names; default: every applied network. */
  networks?: string[];
  reason?: string;
  /** Skip networks a running VM uses, judged under the lock (down_when_idle: a VM may be starting). */
  onlyIfIdle?: boolean;
  /**
   * Refuse, naming them, when VMs run on these networks (hook records with running=true, each
   * confirmed by its tap existing): the CLI's `down` without --force. Nothing is removed then.
   */
  refuseIfRunning?: boolean;
}

/**
 * Remove what `up` recorded for these networks (default: all applied, including those whose
 * record was bad and set aside). The lease database stays.
 */
export async function down(ctx: Context, opts: DownOptions = {}): Promise<NetworkChange[]> {
  // down loads no config, so it checks the directories it trusts itself (up does in loadConfig)
  assertTrustedDirs(ctx);
  return withEngineLock(ctx, async () => {
    const records = readRecords(ctx);
    const bad = quarantinedNetworks(ctx).filter((n) => !records.some((r) => r.network.name === n));
    // a bad record names no bridge we trust: the config's network of that name does
    const configured = bad.length ? configuredNetworks(ctx) : [];
    const bridgeOf = (name: string) =>
      records.find((r) => r.network.name === name)?.network.bridge ?? configured.find((n) => n.name === name)?.bridge ?? '';
    let names = opts.networks?.length ? opts.networks : [...records.map((r) => r.network.name), ...bad];
    if (opts.onlyIfIdle) {
      const busy = new Set(readDomainRecords(ctx).filter((d) => d.running).flatMap((d) => d.nics.map((n) => n.bridge)));
      names = names.filter((n) => !busy.has(bridgeOf(n)));
    }
    const host = new HostObserver(ctx);
    if (opts.refuseIfRunning) await refuseIfRunning(ctx, host, names, bridgeOf);
    const changes: NetworkChange[] = [];
    for (const name of names) {
      const rec = records.find((r) => r.network.name === name);
      let actions: string[] = [];
      if (rec) actions = await teardownRecord(ctx, host, rec);
      else if (bad.includes(name)) actions = await teardownFromEvidence(ctx, host, name, configured.find((n) => n.name === name) ?? null);
      changes.push({ network: name, actions });
    }
    const released = await releaseHostChanges(ctx, host, readRecords(ctx).length === 0);
    if (released.length) {
      if (changes.length === 0) changes.push({ network: '(host)', actions: [] });
      changes.at(-1)!.actions.push(...released);
    }
    return changes;
  });
}

/** Throws, one line per network, when a running VM is on one of these networks. */
async function refuseIfRunning(ctx: Context, host: HostObserver, names: string[], bridgeOf: (name: string) => string): Promise<void> {
  const domains = readDomainRecords(ctx);
  if (!domains.some((d) => d.running)) return;
  const links = await host.getLinks();
  const lines = names.flatMap((name) => {
    const bridge = bridgeOf(name);
    const running = bridge ? runningTapsOn(domains, bridge, links) : [];
    if (running.length === 0) return [];
    const vms = new Set(running.map((r) => r.vm)).size;
    return [
      `network ${name}: ${vms > 1 ? 'VMs' : 'VM'} ${describeRunning(running)} running on ${bridge} would lose ${vms > 1 ? 'their' : 'its'} network; ` +
        `stop ${vms > 1 ? 'them' : 'it'} first, or \`natnet-hook down --force ${name}\` cuts ${vms > 1 ? 'them' : 'it'} off`,
    ];
  });
  if (lines.length) throw new NatnetError(lines.join('\n'));
}

/** The configured networks, or none when the config cannot be loaded (down must still work). */
function configuredNetworks(ctx: Context): Network[] {
  try {
    return loadConfig(ctx).networks;
  } catch (e) {
    if (!(e instanceof NatnetError)) throw e;
    ctx.log.warn({ err: e.message }, 'config unreadable: a network whose applied record was bad is torn down by name only');
    return [];
  }
}

/** Names of networks this host currently has applied (recorded by up, removed by down). */
export function appliedNetworks(ctx: Context): string[] {
  return readRecords(ctx).map((r) => r.network.name);
}
