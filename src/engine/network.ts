import { mkdirSync } from 'node:fs';
import { executeStep } from '../apply/execute.js';
import type { LoadedConfig } from '../config/load.js';
import { NatnetError } from '../errors.js';
import type { AppliedRecord } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { PlanConflict, planNetwork } from '../plan/plan-network.js';
import { planIptablesNftLeftovers, planTeardown } from '../plan/plan-teardown.js';
import { reservationsFor } from '../plan/reservations.js';
import { describeStep, type Step } from '../plan/steps.js';
import { JUMP_CHAINS } from '../render/iptables.js';
import { observeIpChains } from '../observe/nft.js';
import { firstUnsearchableDir } from '../observe/searchable.js';
import { renderHostsfile } from '../render/dnsmasq.js';
import { chooseBackend } from './backend.js';
import type { Context } from './context.js';
import type { HostObserver } from './observe.js';
import { dnsmasqPaths, readRecords, removeRecord, writeRecord } from './records.js';

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

export async function applyNetwork(ctx: Context, host: HostObserver, config: LoadedConfig, net: Network): Promise<string[]> {
  const choice = chooseBackend(net);
  const actions: string[] = [];
  const records = readRecords(ctx);
  const stale = staleRecords(records, net, choice.backend, choice.variant);
  for (const rec of stale) actions.push(...(await teardownRecord(ctx, host, rec)));
  const paths = dnsmasqPaths(ctx, net);
  const closed = firstUnsearchableDir(paths.hosts);
  if (closed) {
    throw new NatnetError(
      `${closed} is not searchable by other users: dnsmasq re-reads ${paths.hosts} as 'nobody' after SIGHUP and would drop every reservation (chmod o+x ${closed}, or use another --state-dir)`,
    );
  }
  // a record of this name that was just torn down (bridge or backend moved) is no longer previous
  const previous = records.find((r) => r.network.name === net.name && !stale.includes(r)) ?? null;
  const { reservations, pending } = reservationsFor(net, config.leases, config.domains);
  for (const p of pending) ctx.log.debug({ vm: p.lease.vm }, p.why);
  const observed = await host.network(net, choice, paths, previous);
  // only on the first up: what iptables-nft will create that down should remove again
  const before = !previous && choice.variant === 'nft' ? await observeIpChains(ctx.runner) : null;
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
        staleDummy: previous?.dummy?.created && previous.dummy.name !== net.dummy ? previous.dummy.name : null,
      },
      observed,
    );
  } catch (e) {
    if (e instanceof PlanConflict) throw new NatnetError(`network ${net.name}: ${e.message}`);
    throw e;
  }
  if (!ctx.dryRun) {
    mkdirSync(ctx.libDir, { recursive: true, mode: 0o755 });
    mkdirSync(`${ctx.runDir}/dnsmasq`, { recursive: true, mode: 0o755 });
  }
  const address = `${net.gateway}/${net.prefix}`;
  const done = {
    createdBridge: previous?.createdBridge ?? false,
    // ours only if we added it; an address the admin had on the bridge stays on down
    address: previous?.address === address ? address : null,
    dummyCreated: previous?.dummy?.name === net.dummy && (previous?.dummy?.created ?? false),
    dummyUnsupported: previous?.dummyUnsupported ?? null,
  };
  let ran = 0;
  try {
    for (const step of steps) {
      const outcome = await executeStep(ctx, step);
      ran++;
      actions.push(describeStep(step));
      if (outcome.dummyUnsupported) {
        done.dummyUnsupported = outcome.dummyUnsupported;
        ctx.log.warn({ network: net.name }, outcome.dummyUnsupported);
      }
      if (outcome.dummyCreated) done.dummyCreated = true;
      if (step.kind === 'ip-batch') {
        if (step.lines.some((l) => l.startsWith(`link add ${net.bridge} `))) done.createdBridge = true;
        if (step.lines.includes(`addr add ${address} dev ${net.bridge}`)) done.address = address;
      }
    }
  } finally {
    if (steps.length) host.invalidate();
    // also when a step failed: down must be able to remove whatever did get applied
    if (ran > 0 || previous) {
      const record: AppliedRecord = {
        network: net,
        backend: choice.backend,
        iptablesVariant: choice.variant,
        createdBridge: done.createdBridge,
        address: done.address,
        dummy: net.dummy && !done.dummyUnsupported ? { name: net.dummy, created: done.dummyCreated } : null,
        dummyUnsupported: net.dummy ? done.dummyUnsupported : null,
        iptablesTablesCreated: previous?.iptablesTablesCreated ?? ['nat', 'filter'].filter((t) => before && !before.tables.has(t)),
        iptablesChainsCreated:
          previous?.iptablesChainsCreated ?? JUMP_CHAINS.filter((c) => before?.tables.has(c.split(' ')[0]) && !before.chains.has(c)),
        enabledForwarding: previous?.enabledForwarding ?? !observed.forwarding,
        dnsmasq: paths,
        appliedAt: new Date().toISOString(),
      };
      if (!previous || !sameRecord(previous, record)) writeRecord(ctx, record);
    }
  }
  return actions;
}

export async function teardownRecord(ctx: Context, host: HostObserver, rec: AppliedRecord): Promise<string[]> {
  const steps = planTeardown(rec, await host.teardown(rec));
  const actions: string[] = [];
  for (const step of steps) {
    await executeStep(ctx, step);
    if (step.kind !== 'remove-file') actions.push(describeStep(step));
  }
  host.invalidate();
  if (rec.backend === 'iptables' && rec.iptablesVariant === 'nft') {
    const [dump, existing] = await Promise.all([host.iptables('nft'), observeIpChains(ctx.runner)]);
    for (const step of planIptablesNftLeftovers(rec, dump, existing)) {
      await executeStep(ctx, step);
      actions.push(describeStep(step));
    }
    host.invalidate();
  }
  removeRecord(ctx, rec.network.name);
  return actions;
}
