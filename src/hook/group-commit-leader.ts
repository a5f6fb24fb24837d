import { readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, NatnetError } from '../errors.js';
import type { DomainRecord } from '../model/types.js';
import { pidAlive } from '../observe/procfs.js';
import { isTempFile, preparePendingDir, preparePendingFile, prepareResultsDir, quarantineFile } from '../state/layout.js';
import type { HeldLock } from '../state/lock.js';
import {
  type Handover,
  notStarted,
  type PrepareRequest,
  type PrepareResult,
  requesterPid,
  requestPrepare,
  settle,
  takeHandover,
  withdrawRequest,
  writeResult,
} from './group-commit.js';
import { changeLines, type HookDeps, type HookOutcome, oneLine } from './outcome.js';

/**
 * The leading side of the group commit (group-commit.ts): the prepare holding the lock takes
 * every pending request, plans each (parse, checks), applies all of them with ONE engine `up`
 * over the union of their networks, and answers each request. A VM whose own input is bad fails
 * alone: refusals found while planning never reach the engine, and when the one run fails on a
 * config problem (a metadata lease that conflicts) each VM is retried on its own. Other failures
 * (a command, the host) are the same for every VM, so they are not repeated N times.
 */

/** What the hook does with one prepare: an outcome already (not ours, refused), or what to apply. */
export type PreparePlan = { outcome: HookOutcome } | { vm: string; networks: string[]; record: DomainRecord; note?: string };
export type Planner = (xml: string, argvName: string) => PreparePlan;

interface Planned {
  req: PrepareRequest;
  vm: string;
  networks: string[];
  record: DomainRecord;
  /** Logged with a success (e.g. its old record was bad and set aside). */
  note?: string;
}

const knownNetworks = (deps: HookDeps) => deps.networks.map((n) => n.name);

/** A request read back from disk, validated like any input; null when it is not one. */
export function parseRequest(text: string, id: string, known: string[]): PrepareRequest | null {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || v.id !== id || v.pid !== requesterPid(id)) return null;
  if (typeof v.vm !== 'string' || v.vm === '' || v.vm.length > 4096 || /[\u0000\n]/.test(v.vm) || typeof v.xml !== 'string') return null;
  if (!Array.isArray(v.networks) || !v.networks.every((n) => typeof n === 'string' && known.includes(n))) return null;
  return { id, pid: v.pid as number, vm: v.vm, xml: v.xml, networks: v.networks as string[] };
}

/** Pending requests of live prepares other than `ownId`; a dead requester's is dropped, an invalid one quarantined and answered. */
function takePending(deps: HookDeps, ownId: string): PrepareRequest[] {
  const ctx = deps.ctx;
  let names: string[];
  try {
    names = readdirSync(preparePendingDir(ctx));
  } catch {
    return [];
  }
  const out: PrepareRequest[] = [];
  for (const name of names.sort()) {
    const id = name.endsWith('.json') ? name.slice(0, -5) : '';
    const pid = requesterPid(id);
    if (isTempFile(name) || pid === null || id === ownId) continue;
    const file = preparePendingFile(ctx, id);
    if (!pidAlive(pid)) {
      withdrawRequest(ctx, id);
      continue;
    }
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // unreadable: quarantined below
    }
    const req = parseRequest(text, id, knownNetworks(deps));
    if (req) {
      out.push(req);
      continue;
    }
    try {
      renameSync(file, quarantineFile(file));
    } catch {
      withdrawRequest(ctx, id);
    }
    deps.ctx.log.warn({ file }, 'invalid prepare request set aside');
    answer(deps, { id, vm: '', exit: 1, action: 'refused', networks: [], error: `${file}: not a valid prepare request (moved to ${quarantineFile(file)})`, applied: false, leader: process.pid, group: 0 });
  }
  return out;
}

function answer(deps: HookDeps, r: PrepareResult): void {
  try {
    writeResult(deps.ctx, r);
  } catch (e) {
    // its prepare finds the lock free and its request gone, and applies itself
    deps.ctx.log.warn({ id: r.id, err: oneLine(e) }, 'could not write a prepare result');
  }
}

/** Results nobody will read any more (their prepare died or gave up). */
function sweepStaleResults(deps: HookDeps): void {
  let names: string[];
  try {
    names = readdirSync(prepareResultsDir(deps.ctx));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = requesterPid(name.endsWith('.json') ? name.slice(0, -5) : '');
    if (pid !== null && !isTempFile(name) && !pidAlive(pid)) {
      try {
        unlinkSync(join(prepareResultsDir(deps.ctx), name));
      } catch {
        // gone
      }
    }
  }
}

function planOne(plan: Planner, req: PrepareRequest): PreparePlan {
  try {
    return plan(req.xml, req.vm);
  } catch (e) {
    return { outcome: { exit: 1, action: 'internal error', error: `qemu hook prepare: ${oneLine(e)}` } };
  }
}

function resultOf(id: string, o: HookOutcome, group: number): PrepareResult {
  return {
    id,
    vm: o.vm ?? '',
    exit: o.exit,
    action: o.action,
    networks: o.networks ?? [],
    ...(o.error !== undefined ? { error: o.error } : {}),
    applied: false,
    leader: process.pid,
    group,
  };
}

/** ONE engine run for every planned VM; on a config error, each VM on its own. */
async function apply(planned: Planned[], lock: HeldLock, deps: HookDeps, results: Map<string, PrepareResult>, group: number): Promise<void> {
  const run = (ps: Planned[]) =>
    lock.lend(() =>
      deps.engine.up(
        deps.ctx,
        ps.length === 1
          ? { networks: ps[0].networks, domain: ps[0].record, reason: `hook qemu prepare ${JSON.stringify(ps[0].vm)}` }
          : {
              networks: [...new Set(ps.flatMap((p) => p.networks))].sort(),
              domains: ps.map((p) => p.record),
              reason: `hook qemu prepare of ${ps.length} VMs (group commit)`,
            },
      ),
    );
  const ok = (p: Planned, changes: string[]) =>
    results.set(p.req.id, {
      id: p.req.id,
      vm: p.vm,
      exit: 0,
      action: 'up',
      networks: p.networks,
      ...(p.note ? { error: p.note } : {}),
      applied: true,
      leader: process.pid,
      group,
      changes,
    });
  const fail = (p: Planned, e: unknown) =>
    results.set(p.req.id, { id: p.req.id, vm: p.vm, exit: 1, action: 'refused', networks: p.networks, error: notStarted(p.vm, e), applied: false, leader: process.pid, group });
  if (planned.length === 0) return;
  // the same VM twice (a manual run beside libvirt's) cannot share one run: its records would compete
  if (new Set(planned.map((p) => p.vm.normalize('NFC'))).size === planned.length) {
    try {
      const changes = changeLines(await run(planned));
      for (const p of planned) ok(p, changes);
      return;
    } catch (e) {
      if (planned.length === 1 || !(e instanceof ConfigError)) {
        for (const p of planned) fail(p, e);
        return;
      }
      deps.ctx.log.warn({ err: oneLine(e), vms: planned.map((p) => p.vm) }, 'group commit failed on the config: each VM on its own');
    }
  }
  for (const p of planned) {
    try {
      ok(p, changeLines(await run([p])));
    } catch (e) {
      fail(p, e);
    }
  }
}

/** Applies this prepare and every pending one; answers the others; returns this prepare's result. */
async function lead(h: Handover, deps: HookDeps, plan: Planner): Promise<PrepareResult> {
  const others = takePending(deps, h.req.id);
  const group = others.length + 1;
  const results = new Map<string, PrepareResult>();
  const planned: Planned[] = [];
  for (const req of [h.req, ...others]) {
    const p = planOne(plan, req);
    if ('outcome' in p) results.set(req.id, resultOf(req.id, p.outcome, group));
    else planned.push({ req, ...p });
  }
  await apply(planned, h.lock, deps, results, group);
  for (const req of others) {
    answer(deps, results.get(req.id)!);
    withdrawRequest(deps.ctx, req.id);
  }
  withdrawRequest(deps.ctx, h.req.id);
  sweepStaleResults(deps);
  return results.get(h.req.id)!;
}

/**
 * The full path's prepare of a VM that may be ours. The fast path normally requested it already
 * and handed this process the lock (we lead); otherwise plan first (a VM that is not ours, or
 * refused, never waits for the lock), then request and wait like any prepare.
 */
export async function prepareInGroup(argvName: string, xml: string, deps: HookDeps, plan: Planner): Promise<HookOutcome> {
  const ctx = deps.ctx;
  let h = takeHandover(ctx.runDir);
  if (!h) {
    const mine = planOne(plan, { id: '', pid: process.pid, vm: argvName, xml, networks: [] });
    if ('outcome' in mine) return mine.outcome;
    const onHeld = (holder: string) => ctx.log.warn({ holder }, `prepare of ${JSON.stringify(argvName)} waits for the lock held by ${holder}`);
    const d = await requestPrepare(ctx, argvName, xml, mine.networks, knownNetworks(deps), { onHeld });
    if (d) return { exit: d.exit ?? 0, vm: mine.vm, networks: d.networks, action: d.action, ...(d.error !== undefined ? { error: d.error } : {}) };
    h = takeHandover(ctx.runDir);
    if (!h) throw new NatnetError('group commit: the lock was not handed over (a bug; the next prepare retries)');
  }
  let own: PrepareResult;
  try {
    own = await lead(h, deps, plan);
  } finally {
    h.lock.release();
  }
  const d = settle(ctx, h.req, h.inputs, own);
  return {
    exit: d.exit ?? 0,
    vm: own.vm || argvName,
    networks: own.networks,
    action: own.group > 1 ? `${d.action} (group commit of ${own.group})` : d.action,
    ...(d.error !== undefined ? { error: d.error } : {}),
    ...(own.changes?.length ? { changes: own.changes } : {}),
  };
}
