import { unlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import type { DomainRecord } from '../model/types.js';
import { domainFile, domainsDir as domainsDirOf } from '../state/layout.js';
import { domainRecordIn } from '../state/schema.js';
import { type BadRecord, describeQuarantined, readRecord, recordNames } from '../state/store.js';
import type { Context } from './context.js';
import { setAside } from './records.js';

/**
 * What the hooks learned about each VM (MACs on our bridges, taps, metadata leases),
 * kept in <libDir>/domains/<file stem of the vm>.json. Callers hold the engine lock when writing.
 * Read back through the schema: a bad record (truncated, `null`, a MAC that is not a unicast
 * MAC, a VM name that is not this file's) is logged and set aside, never used.
 */
export function domainsDir(ctx: Context): string {
  return domainsDirOf(ctx);
}

export function readDomainRecords(ctx: Context): DomainRecord[] {
  const out: DomainRecord[] = [];
  for (const name of recordNames(domainsDir(ctx))) {
    const r = readRecord(`${domainsDir(ctx)}/${name}`, domainRecordIn(name));
    if (r.kind === 'ok') out.push(r.value);
    else if (r.kind === 'bad') setAside(ctx, r.bad);
  }
  return out;
}

export function readDomainRecord(ctx: Context, vm: string): DomainRecord | null {
  const file = domainFile(ctx, vm);
  const r = readRecord(file, domainRecordIn(basename(file)));
  if (r.kind === 'ok') return r.value;
  if (r.kind === 'bad') setAside(ctx, r.bad);
  return null;
}

/** Quarantined domain records, each with why, for status. */
export function describeBadDomains(ctx: Context): BadRecord[] {
  return describeQuarantined(domainsDir(ctx), domainRecordIn);
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
