import { basename } from 'node:path';
import type { DomainRecord } from '../model/types.js';
import { domainFile } from '../state/layout.js';
import { domainRecordIn } from '../state/schema.js';
import { type BadRecord, quarantine, readRecord } from '../state/store.js';

export interface OwnRecord {
  record: DomainRecord | null;
  /** The VM's record file is bad (record is then null: start afresh, after setAside(bad)). */
  bad: BadRecord | null;
}

/**
 * A VM's own domain record, validated (state/schema.ts). A bad one (garbage, `null`, `{}`, a
 * record naming another VM) never refuses the VM: the caller sets it aside (setAside) and the
 * VM gets a fresh record. libvirt runs one VM's hooks one at a time, so nothing writes this
 * file meanwhile.
 */
export function readOwnRecord(libDir: string, vm: string): OwnRecord {
  const file = domainFile({ libDir }, vm);
  const r = readRecord(file, domainRecordIn(basename(file)));
  if (r.kind === 'ok') return { record: r.value, bad: null };
  if (r.kind === 'absent') return { record: null, bad: null };
  return { record: null, bad: r.bad };
}

/** Moves a bad record aside (*.bad); one line for the hook log. */
export function setAside(bad: BadRecord): string {
  const moved = quarantine(bad);
  return `bad record ${bad.file}${moved ? ' moved aside to *.bad' : ''}: ${bad.why}`;
}
