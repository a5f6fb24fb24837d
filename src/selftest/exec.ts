/** How the lab starts processes: the product passes ctx.runner, tests pass node:child_process. */
import { NatnetError } from '../errors.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  input?: string;
}

/** Runs an argv array to completion and never throws on a non-zero exit. */
export type Exec = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

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
