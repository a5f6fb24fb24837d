import { spawn } from 'node:child_process';
import { CommandError } from '../errors.js';
import type { Logger } from '../log.js';

export interface RunOptions {
  /** Text written to the command's stdin. */
  input?: string;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  /** The command only reads state: runs even in dry-run mode. */
  readOnly?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

export interface RunResult {
  argv: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The one place that starts processes. Always an argv array, never a shell.
 * We use node:child_process rather than execa: importing execa costs ~65 ms,
 * more than Node's whole start-up, and the hook path is measured against `node -e 0`.
 */
export interface Runner {
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  readonly dryRun: boolean;
  /** Commands that were (or in dry-run, would have been) run that change state. */
  readonly planned: string[][];
}

export function makeRunner(log: Logger, dryRun = false): Runner {
  const planned: string[][] = [];
  return {
    dryRun,
    planned,
    async run(argv, opts = {}) {
      if (!opts.readOnly) planned.push(argv);
      if (dryRun && !opts.readOnly) {
        log.info({ argv, input: opts.input }, 'dry-run');
        return { argv, code: 0, stdout: '', stderr: '', ms: 0 };
      }
      const result = await spawnArgv(argv, opts);
      log.debug({ argv, code: result.code, ms: result.ms }, 'run');
      if (result.code !== 0 && !opts.allowFailure) {
        throw new CommandError(argv, result.code, result.stderr);
      }
      return result;
    },
  };
}

function spawnArgv(argv: string[], opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const finish = (code: number | null, extra = '') =>
      resolve({
        argv,
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + extra,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    child.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ENOENT' ? 127 : 126, `${argv[0]}: ${e.message}`));
    child.on('close', (code) => finish(code));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
