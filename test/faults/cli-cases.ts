/**
 * Fault cases that run the built CLI against a directory of their own (config, leases.d, state),
 * inside a Lab's router namespace so that nothing can reach the host's network even when a case
 * unexpectedly gets further than it should. Every run is bounded: `timeout` kills a CLI that
 * blocks (a FIFO read, a lock wait) and the run then fails with exit 124.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { inNs } from '../../src/selftest/exec.js';
import { type Layout, layoutOf } from '../../src/state/layout.js';
import { BIN, type CliResult, exec, type Lab } from '../helpers/netns.js';

export const NOBODY = 65534;

/** One case's files: the product's own layout for its --config/--state-dir, plus its directory. */
export interface CaseDir extends Layout {
  dir: string;
  stateDir: string;
}

let made = 0;

/** A fresh directory with etc/config.toml (empty: the default network), traversable by nobody. */
export function caseDir(lab: Lab, config = ''): CaseDir {
  const dir = join(lab.dir, 'cases', String(++made));
  mkdirSync(join(dir, 'etc'), { recursive: true, mode: 0o755 });
  const layout = layoutOf({ config: join(dir, 'etc', 'config.toml'), stateDir: join(dir, 'state') }, {});
  writeFileSync(layout.configPath, config);
  return { ...layout, dir, stateDir: layout.stateDir! };
}

export interface RunOptions {
  /** Run as this uid/gid (e.g. NOBODY) instead of root, to meet permission errors. */
  uid?: number;
  env?: Record<string, string>;
  input?: string;
  /** Seconds before the CLI is killed as hung. */
  timeout?: number;
}

/** The built CLI with the case's --config/--state-dir in the lab's router namespace. */
export async function runCli(lab: Lab, c: CaseDir, args: string[], o: RunOptions = {}): Promise<CliResult> {
  const drop = o.uid === undefined ? [] : ['setpriv', `--reuid=${o.uid}`, `--regid=${o.uid}`, '--clear-groups'];
  const cli = [...drop, process.execPath, BIN, '--config', c.configPath, '--state-dir', c.stateDir, ...args];
  const argv = ['timeout', '-k', '2', String(o.timeout ?? 15), ...inNs(lab.router, cli)];
  // a variable the test runner happens to have must not switch the checks off
  const r = await exec(argv, { env: { NATNET_HOOK_ALLOW_UNSAFE_DIRS: '', NATNET_HOOK_DEBUG: '', ...o.env }, input: o.input });
  return { ...r, all: r.stdout + r.stderr };
}

/** A FIFO at path (nothing in node:fs makes one). */
export async function mkfifo(path: string): Promise<void> {
  const r = await exec(['mkfifo', path]);
  if (r.code !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
}

/** A unix socket file at path, left behind by a process that bound it and exited. */
export async function mksocket(path: string): Promise<void> {
  const r = await exec([process.execPath, '-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]);
  if (r.code !== 0) throw new Error(`socket ${path}: ${r.stderr}`);
}

/**
 * What every failure owes the user: a non-zero exit that is not a kill, every stderr line
 * "natnet-hook: ..." (one per problem), no stack trace.
 */
export function expectOneLineFailure(r: CliResult, o: { lines?: number; code?: number } = {}): string[] {
  expect(r.code, r.all).not.toBe(0);
  expect(r.code, `killed as hung (exit ${r.code}): ${r.all}`).not.toBeGreaterThanOrEqual(124);
  if (o.code !== undefined) expect(r.code, r.all).toBe(o.code);
  expect(r.stderr, r.all).not.toContain('    at ');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines.length, r.all).toBeGreaterThan(0);
  for (const l of lines) expect(l, r.all).toMatch(/^natnet-hook: \S/);
  if (o.lines !== undefined) expect(lines, r.all).toHaveLength(o.lines);
  return lines;
}
