import { mkdirSync, writeFileSync } from 'node:fs';
import { executeStep } from '../apply/execute.js';
import type { LoadedConfig } from '../config/load.js';
import { NatnetError } from '../errors.js';
import type { AppliedRecord, HostChanges } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { availableIptablesVariants } from '../observe/iptables.js';
import type { LinkState } from '../observe/links.js';
import { observeIpChains } from '../observe/nft.js';
import { readIpForward, scanOurDnsmasq } from '../observe/procfs.js';
import { firstUnsearchableDir } from '../observe/searchable.js';
import { notOurLink } from '../plan/ownership.js';
import { PlanConflict, planNetwork } from '../plan/plan-network.js';
import { preflightProblems, toolsNeeded } from '../plan/preflight.js';
import { missingTools } from '../observe/tools.js';
import { planFileRemoval, planIptablesNftLeftovers, planTeardown, recordFromEvidence } from '../plan/plan-teardown.js';
import { boundForwardPorts, describeBound, forwardsOf } from '../plan/forwards.js';
import { readListeningSockets } from '../observe/listening.js';
import { reservationsFor } from '../plan/reservations.js';
import { describeStep, type Step } from '../plan/steps.js';
import { renderHostsfile } from '../render/dnsmasq.js';
import { appliedFile, quarantineFile } from '../state/layout.js';
import { JUMP_CHAINS } from '../render/iptables.js';
import { type BackendChoice, chooseBackend } from './backend.js';
import type { Context } from './context.js';
import type { HostObserver } from './observe.js';
import {
  dnsmasqPaths,
  mergeHostChanges,
  quarantinedNetworks,
  readHostChanges,
  readRecords,
  removeHostChanges,
  removeRecord,
  writeHostChanges,
  writeRecord,
} from './records.js';

function sameRecord(a: AppliedRecord, b: AppliedRecord): boolean {
  return JSON.stringify({ ...a, appliedAt: '' }) === JSON.stringify({ ...b, appliedAt: '' });
}

/** A record whose network moved to another bridge or backend, or an old name on our bridge, is torn down first. */
function staleRecords(records: AppliedRecord[], net: Network, backend: string, variant: string | null): AppliedRecord[] {
  return records.filter((r) =>
    r.network.name === net.name
      ? r.network.bridge !== net.bridge || r.backend !== backend || r.iptablesVariant !== variant
      : r.network.bridge === net.bridge,
  );
}

function runningTaps(config: LoadedConfig, net: Network) {
  return config.domains
    .filter((d) => d.running)
    .flatMap((d) => d.nics.filter((n) => n.bridge === net.bridge && n.tap).map((n) => ({ name: n.tap!, mac: n.mac })));
}

/**
 * The record of a network whose applied record was bad: the links on the host that are
 * provably ours (our kind, our pinned MAC) are adopted, so a later `down` removes them.
 */
function adoptFromEvidence(net: Network, choice: BackendChoice, links: Map<string, LinkState>): AppliedRecord {
  const rec = recordFromEvidence(net, choice.backend, choice.variant);
  const br = links.get(net.bridge);
  const bridgeOurs = !!br && !notOurLink(br, 'bridge', net.mac);
  const dummy = net.dummy ? links.get(net.dummy) : undefined;
  return {
    ...rec,
    createdBridge: bridgeOurs,
    address: bridgeOurs && br.addresses.includes(rec.address!) ? rec.address : null,
    dummy: net.dummy ? { name: net.dummy, created: !!dummy && !notOurLink(dummy, 'dummy', net.mac) } : null,
    appliedAt: new Date().toISOString(),
  };
}

/** What the plan's link steps are about to create (write-ahead: recorded before they run). */
function linkIntents(steps: Step[], net: Network) {
  const address = `${net.gateway}/${net.prefix}`;
  const lines = steps.flatMap((s) => (s.kind === 'ip-batch' ? s.lines : []));
  return {
    bridge: lines.some((l) => l.startsWith(`link add ${net.bridge} `)),
    address: lines.includes(`addr add ${address} dev ${net.bridge}`),
    dummy: steps.some((s) => s.kind === 'dummy-create'),
  };
}

/** Host-wide changes the plan is about to make: ip_forward, and iptables-nft tables/chains its rules create. */
async function hostIntents(ctx: Context, steps: Step[], choice: BackendChoice): Promise<HostChanges> {
  const out: HostChanges = { enabledForwarding: steps.some((s) => s.kind === 'forwarding'), iptablesTablesCreated: [], iptablesChainsCreated: [] };
  if (choice.variant === 'nft' && steps.some((s) => s.kind === 'firewall')) {
    const before = await observeIpChains(ctx.runner);
    out.iptablesTablesCreated = (['nat', 'filter'] as const).filter((t) => !before.tables.has(t));
    out.iptablesChainsCreated = JUMP_CHAINS.filter((c) => before.tables.has(c.split(' ')[0]) && !before.chains.has(c));
  }
  return out;
}

const claimsSomething = (h: HostChanges) => h.enabledForwarding || h.iptablesTablesCreated.length > 0 || h.iptablesChainsCreated.length > 0;

export async function applyNetwork(ctx: Context, host: HostObserver, config: LoadedConfig, net: Network): Promise<string[]> {
  const choice = chooseBackend(net);
  const actions: string[] = [];
  const records = readRecords(ctx);
  const stale = staleRecords(records, net, choice.backend, choice.variant);
  for (const rec of stale) actions.push(...(await teardownRecord(ctx, host, rec)));
  // e.g. a switch away from iptables-nft: the tables and chains it created go once empty, as on down
  if (stale.length) actions.push(...(await releaseHostChanges(ctx, host, false)));
  const paths = dnsmasqPaths(ctx, net);
  const closed = firstUnsearchableDir(paths.hosts);
  if (closed) {
    throw new NatnetError(
      `${closed} is not searchable by other users: dnsmasq re-reads ${paths.hosts} as 'nobody' after SIGHUP and would drop every reservation (chmod o+x ${closed}, or use another --state-dir)`,
    );
  }
  // a record of this name that was just torn down (bridge or backend moved) is no longer previous
  const valid = records.find((r) => r.network.name === net.name && !stale.includes(r)) ?? null;
  const wasBad = !valid && !records.some((r) => r.network.name === net.name) && quarantinedNetworks(ctx).includes(net.name);
  const previous = valid ?? (wasBad ? adoptFromEvidence(net, choice, await host.getLinks()) : null);
  const { reservations, pending } = reservationsFor(net, config.leases, config.domains);
  for (const p of pending) ctx.log.debug({ vm: p.lease.vm }, p.why);
  const forwards = forwardsOf(config, net);
  if (forwards.length) for (const b of boundForwardPorts(forwards, readListeningSockets())) ctx.log.warn({ network: net.name }, describeBound(b));
  const observed = await host.network(net, choice, paths, previous, forwards);
  let steps: Step[];
  try {
    steps = planNetwork(
      {
        net,
        backend: choice.backend,
        iptablesVariant: choice.variant,
        paths,
        hostsText: renderHostsfile(reservations),
        taps: runningTaps(config, net),
        staleDummy: previous?.dummy?.created && previous.dummy.name !== net.dummy ? { name: previous.dummy.name, mac: previous.network.mac } : null,
        forwards,
      },
      observed,
    );
  } catch (e) {
    if (e instanceof PlanConflict) throw new NatnetError(`network ${net.name}: ${e.message}`);
    throw e;
  }
  // before anything is touched: a missing program or a subnet another interface holds
  const problems = preflightProblems(net, steps, observed.links, missingTools(toolsNeeded(steps)));
  if (problems.length) throw new NatnetError(problems.join('\n'));
  if (!ctx.dryRun) {
    mkdirSync(ctx.libDir, { recursive: true, mode: 0o755 });
    mkdirSync(`${ctx.runDir}/dnsmasq`, { recursive: true, mode: 0o755 });
  }
  const address = `${net.gateway}/${net.prefix}`;
  const will = linkIntents(steps, net);
  let dummyUnsupported = previous?.dummyUnsupported ?? null;
  const recordNow = (): AppliedRecord => ({
    network: net,
    backend: choice.backend,
    iptablesVariant: choice.variant,
    createdBridge: (previous?.createdBridge ?? false) || will.bridge,
    // ours only if we add it; an address the admin had on the bridge stays on down
    address: will.address || previous?.address === address ? address : null,
    dummy:
      net.dummy && !dummyUnsupported
        ? { name: net.dummy, created: will.dummy || (previous?.dummy?.name === net.dummy && previous.dummy.created) }
        : null,
    dummyUnsupported: net.dummy ? dummyUnsupported : null,
    appliedAt: new Date().toISOString(),
  });
  // Write-ahead: whatever the steps may create is recorded before the first of them runs, so a
  // `down` after a crash at any point (SIGKILL included) finds and removes all of it.
  let written = valid;
  const intended = recordNow();
  if (steps.length || previous) {
    const host0 = await hostIntents(ctx, steps, choice);
    if (claimsSomething(host0)) {
      const had = readHostChanges(ctx);
      const merged = mergeHostChanges(had, host0);
      if (JSON.stringify(had) !== JSON.stringify(merged)) writeHostChanges(ctx, merged);
    }
    if (!written || !sameRecord(written, intended)) {
      writeRecord(ctx, intended);
      written = intended;
    }
  }
  try {
    for (const step of steps) {
      const outcome = await executeStep(ctx, step);
      actions.push(describeStep(step));
      if (outcome.dummyUnsupported) {
        dummyUnsupported = outcome.dummyUnsupported;
        ctx.log.warn({ network: net.name }, outcome.dummyUnsupported);
      }
    }
  } finally {
    if (steps.length) host.invalidate();
    // also after a failed step the intents stay recorded: down removes whatever did get applied
    const final = recordNow();
    if (written && !sameRecord(written, final)) writeRecord(ctx, final);
  }
  return actions;
}

/** Runs a teardown's steps; returns what was done, then what was left and why. */
async function runTeardown(ctx: Context, steps: Step[], left: string[]): Promise<string[]> {
  const actions: string[] = [];
  for (const step of steps) {
    await executeStep(ctx, step);
    if (step.kind !== 'remove-file') actions.push(describeStep(step));
  }
  return [...actions, ...left];
}

/**
 * Removes what a record says was applied. `everyBackend`: the record came from evidence (the
 * real one was bad), so our rules are looked for in every backend.
 */
export async function teardownRecord(ctx: Context, host: HostObserver, rec: AppliedRecord, everyBackend = false): Promise<string[]> {
  const paths = dnsmasqPaths(ctx, rec.network);
  const t = planTeardown(rec, paths, await host.teardown(rec, paths, everyBackend));
  const actions = await runTeardown(ctx, t.steps, t.left);
  host.invalidate();
  removeRecord(ctx, rec.network.name);
  return actions;
}

/**
 * `down` of a network whose applied record was bad (set aside as <network>.json.bad). Ours,
 * and removed: what derives from the network name (our dnsmasq by its --conf-file, the layout's
 * dnsmasq files) and, when the config still has the network, from its config (our chains and
 * nft table, and the bridge/dummy only if they are our kind with our pinned MAC).
 */
export async function teardownFromEvidence(ctx: Context, host: HostObserver, name: string, net: Network | null): Promise<string[]> {
  const badFile = quarantineFile(appliedFile(ctx, name));
  const note = `its applied record was bad and is kept as ${badFile} (inspect it, then remove it)`;
  if (net) return [...(await teardownRecord(ctx, host, recordFromEvidence(net, 'nftables', null), true)), `checked the host for what up could have made: ${note}`];
  const paths = dnsmasqPaths(ctx, { name });
  const stops = scanOurDnsmasq(paths.conf).map((pid): Step => ({ kind: 'dnsmasq-stop', why: `stop dnsmasq of ${name}`, pid, conf: paths.conf }));
  return runTeardown(ctx, [...stops, ...planFileRemoval(paths)], [
    `left any bridge, dummy and firewall rules of ${name}: the config no longer names its bridge, and ${note}`,
  ]);
}

/**
 * Puts back host-wide changes (host-changes.json): iptables-nft tables/chains `up` created,
 * once empty; and, when no network of ours is left, ip_forward. Whichever network made them.
 */
export async function releaseHostChanges(ctx: Context, host: HostObserver, noneLeft: boolean): Promise<string[]> {
  const had = readHostChanges(ctx);
  if (!had) return [];
  const actions: string[] = [];
  let kept = had;
  if ((had.iptablesTablesCreated.length || had.iptablesChainsCreated.length) && availableIptablesVariants().includes('nft')) {
    const [dump, existing] = await Promise.all([host.iptables('nft'), observeIpChains(ctx.runner)]);
    const steps = planIptablesNftLeftovers(had, dump, existing);
    actions.push(...(await runTeardown(ctx, steps, [])));
    host.invalidate();
    // what is gone (removed now, or by someone else) is no longer ours to remove
    const now = steps.length && !ctx.dryRun ? await observeIpChains(ctx.runner) : existing;
    kept = {
      ...had,
      iptablesTablesCreated: had.iptablesTablesCreated.filter((t) => now.tables.has(t)),
      iptablesChainsCreated: had.iptablesChainsCreated.filter((c) => now.chains.has(c)),
    };
  }
  if (noneLeft) {
    if (had.enabledForwarding && readIpForward() && !ctx.dryRun) {
      writeFileSync('/proc/sys/net/ipv4/ip_forward', '0\n');
      actions.push('restore net.ipv4.ip_forward=0 (it was 0 before up)');
    }
    removeHostChanges(ctx);
  } else if (JSON.stringify(kept) !== JSON.stringify(had)) writeHostChanges(ctx, kept);
  return actions;
}
