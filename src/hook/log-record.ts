import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { hooksLogFile } from '../state/layout.js';

/**
 * One JSON line per hook invocation in <logDir>/hooks.log (default /var/log/natnet-hook/hooks.log),
 * also when the hook fails: what libvirt asked, which VM/network, what we did, how long it took.
 * A single append of a line this size is atomic with O_APPEND, so concurrent hooks do not interleave.
 */
export interface HookLogRecord {
  hook: 'qemu' | 'network';
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

export function hookLogFile(logDir: string): string {
  return hooksLogFile({ logDir });
}

/** Keeps one old generation: past 4 MiB, `file` becomes `file.1`. Never throws. */
export function rotateIfLarge(file: string): void {
  try {
    if (statSync(file).size > MAX_BYTES) renameSync(file, `${file}.1`);
  } catch {
    // no log yet
  }
}

/** Never throws: a log that cannot be written must not fail a VM start. */
export function appendHookRecord(logDir: string, rec: HookLogRecord, now = new Date()): void {
  const file = hookLogFile(logDir);
  try {
    mkdirSync(logDir, { recursive: true, mode: 0o750 });
    rotateIfLarge(file);
    appendFileSync(file, `${JSON.stringify({ time: now.toISOString(), pid: process.pid, ...rec })}\n`, { mode: 0o640 });
  } catch {
    // read-only or full file system: nothing sensible left to do
  }
}
