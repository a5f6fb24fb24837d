import type { HookKind } from '../argv/grammar.js';
import { closeSync, fchmodSync, fstatSync, mkdirSync, openSync, renameSync, writeSync, constants as fsc } from 'node:fs';
import { dirname } from 'node:path';
import { hooksLogFile } from '../state/layout.js';

/**
 * One JSON line per hook invocation in <logDir>/hooks.log (default /var/log/natnet-hook/hooks.log),
 * also when the hook fails: what libvirt asked, which VM/network, what we did, how long it took.
 * A single append of a line this size is atomic with O_APPEND, so concurrent hooks do not interleave.
 */
export interface HookLogRecord {
  hook: HookKind;
  /** libvirt's argv: object operation sub-operation extra. */
  event: string;
  vm?: string;
  network?: string;
  /** Our networks involved. */
  networks?: string[];
  /** What we did: "ignored (not on our bridges)", "up", "recorded taps", ... */
  action: string;
  result: 'ok' | 'error';
  error?: string;
  /** Exit status returned to libvirt. */
  exit: number;
  ms: number;
  changes?: string[];
}

const MAX_BYTES = 4 * 1024 * 1024;
export const LOG_FILE_MODE = 0o640;
export const LOG_DIR_MODE = 0o750;
/**
 * Never through a symbolic link (O_NOFOLLOW: a link planted at hooks.log must not make root append
 * to /etc/shadow), never blocking on a FIFO planted there (O_NONBLOCK: ENXIO without a reader).
 */
const LOG_FLAGS = fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;

export function hookLogFile(logDir: string): string {
  return hooksLogFile({ logDir });
}

/**
 * A log file opened for appending, 0640 in a 0750 directory, or null when that is not possible
 * or not safe (a symlink, FIFO, device or hard-linked file where the log should be). Keeps one
 * old generation: past 4 MiB, `file` becomes `file.1`. Never throws: a log that cannot be written
 * must not fail a VM start.
 */
export function openLogFile(file: string): number | null {
  try {
    for (let rotated = false; ; rotated = true) {
      const fd = openCreatingDir(file);
      const st = fstatSync(fd);
      if (!st.isFile() || st.nlink !== 1) {
        closeSync(fd);
        return null;
      }
      if (st.size > MAX_BYTES && !rotated) {
        closeSync(fd);
        renameSync(file, `${file}.1`);
        continue;
      }
      // older versions created logs 0644
      if ((st.mode & 0o777) !== LOG_FILE_MODE) {
        try {
          fchmodSync(fd, LOG_FILE_MODE);
        } catch {
          // not ours to change: still append
        }
      }
      return fd;
    }
  } catch {
    return null;
  }
}

function openCreatingDir(file: string): number {
  try {
    return openSync(file, LOG_FLAGS, LOG_FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // parents like a --state-dir stay traversable (dnsmasq reads below it as nobody)
  const dir = dirname(file);
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: LOG_DIR_MODE });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return openSync(file, LOG_FLAGS, LOG_FILE_MODE);
}

/** Never throws: a log that cannot be written must not fail a VM start. */
export function appendHookRecord(logDir: string, rec: HookLogRecord, now = new Date()): void {
  const fd = openLogFile(hookLogFile(logDir));
  if (fd === null) return;
  try {
    writeSync(fd, `${JSON.stringify({ time: now.toISOString(), pid: process.pid, ...rec })}\n`);
  } catch {
    // read-only or full file system: nothing sensible left to do
  } finally {
    try {
      closeSync(fd);
    } catch {
      // as above
    }
  }
}
