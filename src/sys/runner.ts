import { CommandError } from '../errors.js';
import type { Logger } from '../log.js';
import { commandTimeoutSeconds } from './command-timeout.js';
import { spawnBounded } from './spawn.js';

export interface RunOptions {
  /** Text written to the command's stdin. */
  input?: string;
  /** Resolve with the result instead of throwing on a non-zero exit or a missing binary (never on a timeout). */
  allowFailure?: boolean;
  /** The command only reads state: runs even in dry-run mode. */
  readOnly?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Seconds before the command is killed; default NATNET_HOOK_COMMAND_TIMEOUT or 30. */
  timeoutSeconds?: number;
}

export interface RunResult {
  argv: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The one place that runs commands: argv arrays, never a shell, each one time-bounded
 * (see src/sys/spawn.ts; execa is loaded at the first command, not before).
 */
export interface Runner {
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  readonly dryRun: boolean;
  /** Commands that were (or in dry-run, would have been) run that change state. */
  readonly planned: string[][];
}

export function makeRunner(log: Logger, dryRun = false, env: NodeJS.ProcessEnv = process.env): Runner {
  const planned: string[][] = [];
  let defaultTimeout: number | undefined;
  return {
    dryRun,
    planned,
    async run(argv, opts = {}) {
      if (!opts.readOnly) planned.push(argv);
      if (dryRun && !opts.readOnly) {
        log.info({ argv, input: opts.input }, 'dry-run');
        return { argv, code: 0, stdout: '', stderr: '', ms: 0 };
      }
      // read at the first command: a path that runs none never fails on a bad value
      defaultTimeout ??= commandTimeoutSeconds(env);
      const timeoutSeconds = opts.timeoutSeconds ?? defaultTimeout;
      const { end, ...result } = await spawnBounded(argv, { input: opts.input, env: opts.env, timeoutSeconds });
      log.debug({ argv, code: result.code, ms: result.ms, end: end ?? undefined }, 'run');
      if (end && (end.kind === 'timeout' || !opts.allowFailure)) {
        throw new CommandError(argv, result.code, result.stderr, end);
      }
      if (end?.kind === 'not-found' || end?.kind === 'cannot-run') {
        return { ...result, stderr: new CommandError(argv, result.code, result.stderr, end).message };
      }
      return result;
    },
  };
}
