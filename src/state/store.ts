/**
 * Reading a JSON state file back: absent, valid, or bad. A bad file (not JSON, truncated, wrong
 * shape, not a regular file, not UTF-8) is never trusted and never crashes the caller: it is
 * reported, and `quarantine` moves it aside to <file>.bad so one broken record cannot disable
 * every command or refuse an unrelated VM. node: builtins only (used by the hook's fast path).
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, renameSync, constants as fsc } from 'node:fs';
import { isTempFile, quarantineFile } from './layout.js';
import { SchemaError } from './schema.js';

export interface BadRecord {
  file: string;
  /** One line: what is wrong with it. */
  why: string;
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
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
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
  let text: string;
  try {
    const buf = readRegularFile(file);
    if (buf === null) return { kind: 'absent' };
    text = utf8.decode(buf);
  } catch (e) {
    return { kind: 'bad', bad: { file, why: errText(e) } };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'bad', bad: { file, why: text.trim() === '' ? 'empty' : 'not valid JSON (truncated?)' } };
  }
  try {
    return { kind: 'ok', value: validate(parsed) };
  } catch (e) {
    return { kind: 'bad', bad: { file, why: e instanceof SchemaError ? e.message : errText(e) } };
  }
}

/** Moves a bad record aside (<file>.bad), so it is reported once and never read again. Never throws. */
export function quarantine(bad: BadRecord): boolean {
  try {
    renameSync(bad.file, quarantineFile(bad.file));
    return true;
  } catch {
    return false;
  }
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
