/**
 * The applied-record store (<runDir>/applied/<network>.json) and the host-changes record.
 * Everything read back is validated (state/schema.ts); a bad record is logged, moved aside to
 * *.bad (state/store.ts) and treated as unknown: `down` then removes only what the names
 * derived from the config and the evidence on the host show to be ours (engine/network.ts).
 */
import { unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import type { AppliedRecord, HostChanges } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { appliedDir, appliedFile, appliedNetworkOf, type DnsmasqPaths, dnsmasqPaths as dnsmasqPathsOf, hostChangesFile, quarantineFile } from '../state/layout.js';
import { appliedRecord, hostChanges } from '../state/schema.js';
import { type BadRecord, describeQuarantined, quarantine, quarantinedIn, readRecord as readStateFile, recordNames } from '../state/store.js';
import type { Context } from './context.js';

export function dnsmasqPaths(ctx: Context, net: Pick<Network, 'name'>): DnsmasqPaths {
  return dnsmasqPathsOf(ctx, net.name);
}

/** Logs a bad record and moves it aside (not in a dry run, which changes nothing). */
export function setAside(ctx: Context, bad: BadRecord): void {
  const moved = !ctx.dryRun && quarantine(bad);
  ctx.log.warn({ file: bad.file, why: bad.why, movedTo: moved ? `${bad.file}.bad` : undefined }, 'bad state record ignored');
}

/** The valid applied record of a network, or null (absent or bad: a bad one is set aside). */
export function readRecord(ctx: Context, name: string): AppliedRecord | null {
  const r = readStateFile(appliedFile(ctx, name), (v) => appliedRecord(v, name));
  if (r.kind === 'ok') return r.value;
  if (r.kind === 'bad') setAside(ctx, r.bad);
  return null;
}

/** Every valid applied record, sorted by network name; bad ones are set aside. */
export function readRecords(ctx: Context): AppliedRecord[] {
  return recordNames(appliedDir(ctx))
    .map((n) => readRecord(ctx, appliedNetworkOf(n)))
    .filter((r) => r !== null);
}

/** Networks whose applied record was set aside as bad (<network>.json.bad), sorted. */
export function quarantinedNetworks(ctx: Context): string[] {
  const dir = appliedDir(ctx);
  return quarantinedIn(dir).map((f) => appliedNetworkOf(f.slice(dir.length + 1)));
}

/** Quarantined applied records and host-changes record, each with why, for status. */
export function describeBadApplied(ctx: Context): BadRecord[] {
  const hostBad = quarantineFile(hostChangesFile(ctx));
  return [
    ...describeQuarantined(appliedDir(ctx), (file) => (v) => appliedRecord(v, appliedNetworkOf(file))),
    ...describeQuarantined(ctx.runDir, () => hostChanges).filter((b) => b.file === hostBad),
  ];
}

export function writeRecord(ctx: Context, rec: AppliedRecord): void {
  if (!ctx.dryRun) writeFileAtomic(appliedFile(ctx, rec.network.name), `${JSON.stringify(rec, null, 2)}\n`);
}

export function removeRecord(ctx: Context, name: string): void {
  removeQuietly(ctx, appliedFile(ctx, name));
}

function removeQuietly(ctx: Context, file: string): void {
  if (ctx.dryRun) return;
  try {
    unlinkSync(file);
  } catch {
    // not there
  }
}

/** Host-wide changes recorded by `up`; null when none (a bad record is set aside: nothing is put back). */
export function readHostChanges(ctx: Context): HostChanges | null {
  const r = readStateFile(hostChangesFile(ctx), hostChanges);
  if (r.kind === 'ok') return r.value;
  if (r.kind === 'bad') setAside(ctx, r.bad);
  return null;
}

export function writeHostChanges(ctx: Context, h: HostChanges): void {
  if (!ctx.dryRun) writeFileAtomic(hostChangesFile(ctx), `${JSON.stringify(h, null, 2)}\n`);
}

export function removeHostChanges(ctx: Context): void {
  removeQuietly(ctx, hostChangesFile(ctx));
}

/** The union of two sets of host changes (claims only ever grow until the last `down`). */
export function mergeHostChanges(a: HostChanges | null, b: HostChanges): HostChanges {
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  return {
    enabledForwarding: (a?.enabledForwarding ?? false) || b.enabledForwarding,
    iptablesTablesCreated: uniq([...(a?.iptablesTablesCreated ?? []), ...b.iptablesTablesCreated]),
    iptablesChainsCreated: uniq([...(a?.iptablesChainsCreated ?? []), ...b.iptablesChainsCreated]),
    enabledForwarding6: (a?.enabledForwarding6 ?? false) || (b.enabledForwarding6 ?? false),
    // the first value seen is the one from before any of our changes
    acceptRaFixed: [...(a?.acceptRaFixed ?? []), ...(b.acceptRaFixed ?? []).filter((x) => !(a?.acceptRaFixed ?? []).some((y) => y.iface === x.iface))],
    ...(a?.ip6tablesCreated || b.ip6tablesCreated
      ? {
          ip6tablesCreated: {
            tables: uniq([...(a?.ip6tablesCreated?.tables ?? []), ...(b.ip6tablesCreated?.tables ?? [])]),
            chains: uniq([...(a?.ip6tablesCreated?.chains ?? []), ...(b.ip6tablesCreated?.chains ?? [])]),
          },
        }
      : {}),
  };
}
