/**
 * Reading a JSON state file back: absent, valid, or bad. A bad file (not JSON, truncated, wrong
 * shape, not a regular file, not UTF-8) is never trusted and never crashes the caller: it is
 * reported, and `quarantine` moves it aside to <file>.bad so one broken record cannot disable
 * every command or refuse an unrelated VM. node: builtins only (used by the hook's fast path).
 */
import { closeSync, fstatSync, linkSync, openSync, readdirSync, readSync, renameSync, unlinkSync, constants as fsc } from 'node:fs';
import { isTempFile, quarantineFile } from './layout.js';
import { SchemaError } from './schema.js';
import { NatnetError } from '../errors.js';

export interface BadRecord {
  file: string;
  /** One line: what is wrong with it. */
  why: string;
  /** The bytes judged bad, when they could be read: quarantine checks it moves exactly these. */
  bytes?: Buffer;
}

export type ReadResult<T> = { kind: 'absent' } | { kind: 'ok'; value: T } | { kind: 'bad'; bad: BadRecord };

/** State files are small; anything larger than this is not ours. */
const MAX_BYTES = 4 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A regular file's bytes, without following a FIFO into a block; null when absent. */
function readRegularFile(file: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NatnetError('not a regular file');
    if (st.size > MAX_BYTES) throw new NatnetError(`larger than ${MAX_BYTES} bytes`);
    const buf = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ELOOP') return 'a symbolic link (state files never are)';
  if (err?.code) return `${err.code.toLowerCase()} (${err.code})`;
  return err instanceof Error ? err.message : String(e);
}

/** Reads and validates one state file. Never throws. */
export function readRecord<T>(file: string, validate: (v: unknown) => T): ReadResult<T> {
  let buf: Buffer | null;
  let text: string;
  try {
    buf = readRegularFile(file);
    if (buf === null) return { kind: 'absent' };
  } catch (e) {
    return { kind: 'bad', bad: { file, why: errText(e) } };
  }
  const bad = (why: string): ReadResult<T> => ({ kind: 'bad', bad: { file, why, bytes: buf } });
  try {
    text = utf8.decode(buf);
  } catch {
    return bad('not UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return bad(text.trim() === '' ? 'empty' : 'not valid JSON (truncated?)');
  }
  try {
    return { kind: 'ok', value: validate(parsed) };
  } catch (e) {
    return bad(e instanceof SchemaError ? e.message : errText(e));
  }
}

/**
 * Moves a bad record aside (<file>.bad), so it is reported once and never read again. Never
 * throws. Readers need not hold the lock: when a writer replaced the file between our read and
 * the rename (the moved bytes differ from the bad ones), the new file is put back.
 */
export function quarantine(bad: BadRecord): boolean {
  const dest = quarantineFile(bad.file);
  try {
    renameSync(bad.file, dest);
  } catch {
    return false;
  }
  if (bad.bytes === undefined) return true;
  let moved: Buffer | null = null;
  try {
    moved = readRegularFile(dest);
  } catch {
    return true;
  }
  if (moved?.equals(bad.bytes)) return true;
  try {
    linkSync(dest, bad.file);
  } catch {
    // EEXIST: an even newer record is already in place
  }
  try {
    unlinkSync(dest);
  } catch {
    // gone already
  }
  return false;
}

/** Names of the records in a directory (*.json, no temp files), sorted; [] when absent. */
export function recordNames(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.json') && !isTempFile(n))
      .sort();
  } catch {
    return [];
  }
}

/** Quarantined records left in a directory: reported by status until an admin removes them. */
export function quarantinedIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.bad'))
      .sort()
      .map((n) => `${dir}/${n}`);
  } catch {
    return [];
  }
}

/** Each quarantined record in a directory with why it was set aside (re-validated: the reason is not stored). */
export function describeQuarantined(dir: string, validatorFor: (fileName: string) => (v: unknown) => unknown): BadRecord[] {
  return quarantinedIn(dir).map((file) => {
    const r = readRecord(file, validatorFor(file.slice(dir.length + 1)));
    const why = r.kind === 'bad' ? r.bad.why : r.kind === 'absent' ? 'removed meanwhile' : 'moved aside earlier; reads as valid now';
    return { file, why };
  });
}
