import { withEngineLock } from '../state/lock.js';
import { readDomainRecord, readDomainRecords, writeDomainRecord } from '../engine/domains.js';
import { type DomainInfo, DomainXmlError, parseDomainXml } from '../libvirt/domain.js';
import type { DomainRecord } from '../model/types.js';
import { applyDomainEvent, buildDomainRecord, migratedAway, runningOn } from './domain-record.js';
import { setAside } from './domain-record-read.js';
import { type PreparePlan, prepareInGroup } from './group-commit-leader.js';
import { refuseIncoming } from './migrate.js';
import { domainFacts, networksOn } from './prefilter.js';
import { forgetFingerprint } from './prepare-fingerprint.js';
import { changeLines, type HookDeps, type HookEvent, type HookOutcome, oneLine } from './outcome.js';

interface Facts {
  /** The VM name as libvirt passed it in argv. */
  argvName: string;
  info: DomainInfo;
  previous: DomainRecord | null;
  /** The VM's own record was bad and set aside (one line), or null. */
  badRecord: string | null;
  bridges: string[];
  networkNames: string[];
  /** This VM's record as it is now (running or not). */
  record(running: boolean): DomainRecord;
}

function factsOf(xml: string, argvName: string, deps: HookDeps): Facts {
  const info = parseDomainXml(xml);
  const ours = new Set(deps.networks.map((n) => n.bridge));
  const { previous, bad, libvirtNetworks, bridges } = domainFacts(info, deps.ctx.libDir, deps.networks);
  const now = deps.now?.() ?? new Date();
  return {
    argvName,
    info,
    previous,
    badRecord: bad && setAside(bad),
    bridges,
    networkNames: networksOn(bridges, deps.networks),
    record: (running) => {
      const rec = buildDomainRecord(info, { libvirtNetworks, previous, ours, now });
      return running ? applyDomainEvent(rec, { kind: 'running', interfaces: info.interfaces }, now) : rec;
    },
  };
}

/**
 * The qemu hook for a VM that (may) sit on our bridges. Exit 1 only from `prepare` (the VM must
 * not start without its network or with a wrong lease) and `migrate` (it must not arrive to a
 * reservation held here); everything else exits 0 and logs.
 */
export async function handleQemu(ev: HookEvent, xml: string, deps: HookDeps): Promise<HookOutcome> {
  // before parsing: this prepare may hold the lock for a group of them (group-commit.ts)
  if (ev.op === 'prepare') return prepareInGroup(ev.object, xml, deps, (x, name) => planPrepare(x, name, deps));
  let f: Facts;
  try {
    f = factsOf(xml, ev.object, deps);
  } catch (e) {
    if (e instanceof DomainXmlError) return { exit: 0, vm: ev.object, action: 'ignored (malformed input)', error: e.message };
    throw e;
  }
  const out = await handleFacts(ev, f, deps);
  return f.badRecord && out.exit === 0 && !out.error ? { ...out, error: f.badRecord } : out;
}

async function handleFacts(ev: HookEvent, f: Facts, deps: HookDeps): Promise<HookOutcome> {
  const vm = f.info.name;
  const base = { vm, networks: f.networkNames };
  const reason = `hook qemu ${ev.op} ${JSON.stringify(vm)}`;
  switch (ev.op) {
    case 'start':
    case 'started':
      if (f.bridges.length === 0) return { exit: 0, ...base, action: 'ignored (not on our bridges)' };
      return lenient(base, 'recorded taps', async () => {
        await recordUnderLock(deps, f.record(true));
        return [];
      });
    case 'stopped':
    case 'release':
      if (!f.previous) return { exit: 0, ...base, action: 'ignored (not recorded)' };
      if (migratedAway(ev.op, ev.extra)) return lenient(base, 'recorded migration away', () => leftForAnotherHost(f.previous!, deps, reason));
      return lenient(base, 'recorded stop', async () => {
        await recordUnderLock(deps, applyDomainEvent(f.previous!, { kind: 'stopped' }, deps.now?.() ?? new Date()));
        return ev.op === 'release' ? downIfIdle(f.previous!, deps, reason) : [];
      });
    case 'reconnect':
    case 'attach':
      if (f.bridges.length === 0) return { exit: 0, ...base, action: 'ignored (not on our bridges)' };
      return reconnect(f, deps, reason);
    case 'migrate':
      // stdout would become the domain XML: say nothing, ever. `prepare` follows and brings the network up.
      return incoming(f, deps);
    case 'restore':
      // stdout would become the domain XML: say nothing. `prepare` follows on this host and brings the network up.
      return { exit: 0, ...base, action: `nothing to do on ${ev.op} (prepare follows)` };
    default:
      return { exit: 0, ...base, action: `ignored (operation ${JSON.stringify(ev.op)})` };
  }
}

/**
 * What a prepare needs: nothing for a VM not on our bridges (exit 0), a refusal for invalid
 * input of ours (exit 1), else its record and networks for the engine (group-commit-leader.ts
 * applies them, for this VM and any others waiting). Exit 1 only from `prepare`: the VM must not
 * start without its network or with a wrong lease.
 */
function planPrepare(xml: string, argvName: string, deps: HookDeps): PreparePlan {
  let f: Facts;
  try {
    f = factsOf(xml, argvName, deps);
  } catch (e) {
    if (e instanceof DomainXmlError) return { outcome: { exit: 0, vm: argvName, action: 'ignored (malformed input)', error: e.message } };
    throw e;
  }
  const vm = f.info.name;
  // its own record was bad and set aside: logged with the outcome
  const base = { vm, networks: f.networkNames, ...(f.badRecord ? { error: f.badRecord } : {}) };
  if (f.bridges.length === 0) return { outcome: { exit: 0, ...base, action: 'ignored (not on our bridges)' } };
  const invalid = invalidMetadata(f);
  if (invalid) return { outcome: { exit: 1, ...base, action: 'refused', error: `VM ${JSON.stringify(vm)}: ${invalid}` } };
  return { vm, networks: f.networkNames, record: f.record(true), ...(f.badRecord ? { note: f.badRecord } : {}) };
}

/** Why a VM's <metadata> natnet lease cannot be used (prepare and migrate refuse it alike), or null. */
function invalidMetadata(f: Facts): string | null {
  return f.info.metadataProblems.length > 0 ? `its <metadata> natnet lease is invalid: ${f.info.metadataProblems.join('; ')}` : null;
}

/**
 * `migrate` on the destination (libvirt cancels the migration on exit 1): a VM of ours arrives
 * only if its reservation is free here, judged by the rules a prepare applies (migrate.ts).
 */
async function incoming(f: Facts, deps: HookDeps): Promise<HookOutcome> {
  const base = { vm: f.info.name, networks: f.networkNames };
  if (f.bridges.length === 0) return { exit: 0, ...base, action: 'ignored (not on our bridges)' };
  const invalid = invalidMetadata(f);
  const error = invalid ? `incoming migration of VM ${JSON.stringify(f.info.name)} refused: ${invalid}` : await refuseIncoming(f.record(false), deps.ctx);
  return error ? { exit: 1, ...base, action: 'refused', error } : { exit: 0, ...base, action: 'accepted incoming migration (reservation free here)' };
}

/**
 * `release ... migrated` on the source: the record says so, and nothing of the VM stays in
 * force here: its metadata leases and forwards leave the hostsfile and the rules, and its
 * dnsmasq leases leave the lease file, so a later VM here can be given those addresses.
 */
async function leftForAnotherHost(prev: DomainRecord, deps: HookDeps, reason: string): Promise<string[]> {
  await recordUnderLock(deps, applyDomainEvent(prev, { kind: 'migrated' }, deps.now?.() ?? new Date()));
  // the VM may come back unchanged: its next prepare must run in full
  forgetFingerprint(deps.ctx.runDir, prev.vm);
  const nets = deps.networks.filter((n) => prev.nics.some((x) => x.bridge === n.bridge)).map((n) => n.name);
  const why = `${reason}: migrated to another host`;
  const changes = await deps.engine.up(deps.ctx, { ifApplied: nets, forgetLeasesOf: [...new Set(prev.nics.map((n) => n.mac))], reason: why });
  return [...changeLines(changes), ...(await downIfIdle(prev, deps, why))];
}

/** libvirt KILLS a running VM whose reconnect hook fails: try hard, never fail. */
async function reconnect(f: Facts, deps: HookDeps, reason: string): Promise<HookOutcome> {
  const base = { vm: f.info.name, networks: f.networkNames };
  try {
    const changes = await deps.engine.up(deps.ctx, { networks: f.networkNames, domain: f.record(true), reason });
    return { exit: 0, ...base, action: 'up', changes: changeLines(changes) };
  } catch (first) {
    // e.g. its metadata lease now conflicts with the config: at least keep the network up
    try {
      const changes = await deps.engine.up(deps.ctx, { networks: f.networkNames, reason });
      return { exit: 0, ...base, action: 'up (VM record not updated)', error: oneLine(first), changes: changeLines(changes) };
    } catch (e) {
      return { exit: 0, ...base, action: 'up failed', error: oneLine(e) };
    }
  }
}

async function lenient(base: { vm: string; networks: string[] }, action: string, fn: () => Promise<string[]>): Promise<HookOutcome> {
  try {
    const changes = await fn();
    return { exit: 0, ...base, action, changes };
  } catch (e) {
    return { exit: 0, ...base, action: `${action} failed`, error: oneLine(e) };
  }
}

async function recordUnderLock(deps: HookDeps, rec: DomainRecord): Promise<void> {
  if (rec.nics.length === 0 && rec.metadataLeases.length === 0 && !readDomainRecord(deps.ctx, rec.vm)) return;
  await withEngineLock(deps.ctx, async () => writeDomainRecord(deps.ctx, rec));
}

/**
 * Networks with down_when_idle that no other running VM uses any more. The read here is only a
 * cheap pre-filter outside the lock; whether a network is idle is decided by the engine under
 * the lock (onlyIfIdle), since a VM may be starting on it meanwhile.
 */
async function downIfIdle(prev: DomainRecord, deps: HookDeps, reason: string): Promise<string[]> {
  const records = readDomainRecords(deps.ctx);
  const idle = deps.networks.filter(
    (n) => n.downWhenIdle && prev.nics.some((x) => x.bridge === n.bridge) && runningOn(records, n.bridge, prev.vm).length === 0,
  );
  if (idle.length === 0) return [];
  const changes = await deps.engine.down(deps.ctx, { networks: idle.map((n) => n.name), reason: `${reason}: last VM left`, onlyIfIdle: true });
  return changeLines(changes);
}
