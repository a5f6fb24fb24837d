import { CommandError, NatnetError } from '../errors.js';
import { type SpawnResult, spawnBounded } from '../sys/spawn.js';

/** How the lab starts processes: the product passes ctx.runner, tests test/helpers/exec.ts (both src/sys). */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  input?: string;
  /** Seconds before the command is killed (the exec's default otherwise). */
  timeoutSeconds?: number;
}

/** Runs an argv array to completion and never throws on a non-zero exit. */
export type Exec = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

/**
 * A spawn result as the lab sees it: the exit code (127 when the binary is missing, 128 after a
 * signal or timeout), and when it did not simply exit, the one-line reason appended to stderr.
 */
export function execResult(r: SpawnResult): ExecResult {
  const why = r.end && r.end.kind !== 'exit' ? `${new CommandError(r.argv, r.code, r.stderr, r.end).message}\n` : '';
  return { code: r.code ?? 128, stdout: r.stdout, stderr: r.stderr + why };
}

/** An Exec straight on the runner's spawn (no dry-run, no logging): what tests and helpers use. */
export function boundedExec(defaultTimeoutSeconds: number): Exec {
  return async (argv, opts = {}) =>
    execResult(await spawnBounded(argv, { input: opts.input, env: opts.env, timeoutSeconds: opts.timeoutSeconds ?? defaultTimeoutSeconds }));
}

export class LabError extends NatnetError {}

/** Runs argv and throws a LabError naming the command when it fails. */
export async function mustRun(exec: Exec, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
  const r = await exec(argv, opts);
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n')[0] || `exit ${r.code}`;
    throw new LabError(`${argv.join(' ')}: ${why}`);
  }
  return r;
}

/** argv that runs `argv` inside network namespace `ns`. */
export function inNs(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
