import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isTempFile, writeFileAtomic } from '../apply/atomic-write.js';
import type { AppliedRecord } from '../model/applied.js';
import type { Network } from '../model/types.js';
import type { DnsmasqPaths } from '../render/dnsmasq.js';
import type { Context } from './context.js';

const appliedDir = (ctx: Context) => join(ctx.runDir, 'applied');

export function dnsmasqPaths(ctx: Context, net: Pick<Network, 'name'>): DnsmasqPaths {
  const dir = join(ctx.runDir, 'dnsmasq');
  return {
    conf: join(dir, `${net.name}.conf`),
    pid: join(dir, `${net.name}.pid`),
    hosts: join(dir, `${net.name}.hosts`),
    leases: join(ctx.libDir, `${net.name}.leases`),
  };
}

export function readRecord(ctx: Context, name: string): AppliedRecord | null {
  try {
    return JSON.parse(readFileSync(join(appliedDir(ctx), `${name}.json`), 'utf8')) as AppliedRecord;
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
  if (!ctx.dryRun) writeFileAtomic(join(appliedDir(ctx), `${rec.network.name}.json`), `${JSON.stringify(rec, null, 2)}\n`);
}

export function removeRecord(ctx: Context, name: string): void {
  if (ctx.dryRun) return;
  try {
    unlinkSync(join(appliedDir(ctx), `${name}.json`));
  } catch {
    // not applied
  }
}
