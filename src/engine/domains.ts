import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { domainFile, domainsDir as domainsDirOf, isTempFile } from '../state/layout.js';
import type { DomainRecord } from '../model/types.js';
import type { Context } from './context.js';

/**
 * What the hooks learned about each VM (MACs on our bridges, taps, metadata leases),
 * kept in <libDir>/domains/<encoded vm>.json. Callers hold the engine lock when writing.
 */
export function domainsDir(ctx: Context): string {
  return domainsDirOf(ctx);
}

export function readDomainRecords(ctx: Context): DomainRecord[] {
  let names: string[];
  try {
    names = readdirSync(domainsDir(ctx));
  } catch {
    return [];
  }
  const out: DomainRecord[] = [];
  for (const name of names.sort()) {
    if (isTempFile(name) || !name.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(join(domainsDir(ctx), name), 'utf8')) as DomainRecord);
    } catch (e) {
      ctx.log.warn({ file: name, err: String(e) }, 'unreadable domain record skipped');
    }
  }
  return out;
}

export function readDomainRecord(ctx: Context, vm: string): DomainRecord | null {
  try {
    return JSON.parse(readFileSync(domainFile(ctx, vm), 'utf8')) as DomainRecord;
  } catch {
    return null;
  }
}

export function writeDomainRecord(ctx: Context, rec: DomainRecord): void {
  if (ctx.dryRun) return;
  writeFileAtomic(domainFile(ctx, rec.vm), `${JSON.stringify(rec, null, 2)}\n`, 0o644);
}

export function removeDomainRecord(ctx: Context, vm: string): void {
  if (ctx.dryRun) return;
  try {
    unlinkSync(domainFile(ctx, vm));
  } catch {
    // not recorded
  }
}
