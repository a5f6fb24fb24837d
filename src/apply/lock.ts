import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LockError } from '../errors.js';
import { pidAlive } from '../observe/procfs.js';

const POLL_MS = 5;

function holderOf(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isFinite(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Create `path` holding our pid, or return false when it exists. */
function createExclusive(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o644);
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Removes the lock of a dead holder. Take-overs are serialised by a second exclusive file, so
 * only one waiter at a time looks, and it removes the lock only while it still names the dead
 * pid: a live holder's lock is never touched, and nothing is ever put back.
 */
function breakDeadLock(path: string, dead: number): void {
  const breaker = `${path}.break`;
  if (!createExclusive(breaker)) {
    const other = holderOf(breaker);
    if (other !== null && !pidAlive(other)) unlinkQuietly(breaker);
    return;
  }
  try {
    if (holderOf(path) === dead) unlinkQuietly(path);
  } finally {
    unlinkQuietly(breaker);
  }
}

/**
 * One host-wide lock for every engine run (hooks, CLI, listener), so concurrent VM starts
 * serialise: an O_EXCL lock file holding the owner's pid.
 */
export async function withLock<T>(runDir: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const path = join(runDir, 'lock');
  const deadline = Date.now() + timeoutMs;
  while (!createExclusive(path)) {
    const holder = holderOf(path);
    if (holder !== null && !pidAlive(holder)) {
      breakDeadLock(path, holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw new LockError(`${path}: held by pid ${holder ?? '?'} for more than ${timeoutMs / 1000}s`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    unlinkQuietly(path);
  }
}

/** The engine's lock for a context; a dry run changes nothing, so it neither locks nor creates the run dir. */
export function withEngineLock<T>(ctx: { runDir: string; dryRun: boolean }, fn: () => Promise<T>): Promise<T> {
  return ctx.dryRun ? fn() : withLock(ctx.runDir, fn);
}
