import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
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

/**
 * One host-wide lock for every engine run (hooks, CLI, listener), so concurrent VM starts
 * serialise. O_EXCL lock file holding the owner's pid; a lock whose owner died is taken
 * over by renaming it away first, so two waiters cannot both steal it.
 */
export async function withLock<T>(runDir: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const path = join(runDir, 'lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = holderOf(path);
    if (holder !== null && !pidAlive(holder)) {
      const stale = `${path}.stale.${process.pid}`;
      try {
        renameSync(path, stale);
        if (holderOf(stale) === holder) unlinkSync(stale);
        else renameSync(stale, path); // someone else's fresh lock: put it back
      } catch {
        // another waiter moved it first
      }
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
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}
