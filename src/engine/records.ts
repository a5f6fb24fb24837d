import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import type { AppliedRecord } from '../model/applied.js';
import { appliedDir, appliedFile, type DnsmasqPaths, dnsmasqPaths as dnsmasqPathsOf, isTempFile } from '../state/layout.js';
import type { Network } from '../model/types.js';
import type { Context } from './context.js';

export function dnsmasqPaths(ctx: Context, net: Pick<Network, 'name'>): DnsmasqPaths {
  return dnsmasqPathsOf(ctx, net.name);
}

export function readRecord(ctx: Context, name: string): AppliedRecord | null {
  try {
    return JSON.parse(readFileSync(appliedFile(ctx, name), 'utf8')) as AppliedRecord;
  } catch {
    return null;
  }
}

export function readRecords(ctx: Context): AppliedRecord[] {
  let names: string[] = [];
  try {
    names = readdirSync(appliedDir(ctx));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json') && !isTempFile(n))
    .sort()
    .map((n) => readRecord(ctx, n.slice(0, -5)))
    .filter((r) => r !== null);
}

export function writeRecord(ctx: Context, rec: AppliedRecord): void {
  if (!ctx.dryRun) writeFileAtomic(appliedFile(ctx, rec.network.name), `${JSON.stringify(rec, null, 2)}\n`);
}

export function removeRecord(ctx: Context, name: string): void {
  if (ctx.dryRun) return;
  try {
    unlinkSync(appliedFile(ctx, name));
  } catch {
    // not applied
  }
}
