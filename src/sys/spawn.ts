/**
 * The only code that starts processes (through execa): argv arrays, never a shell.
 * execa is imported at the first spawn, not before: bundled it costs milliseconds to load,
 * and the hook paths that spawn nothing are measured against `node -e 0`.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { ResultPromise } from 'execa';
import { type CommandEnd, CommandError } from '../errors.js';
import { COMMAND_TIMEOUT_FIX, KILL_AFTER_SECONDS } from './command-timeout.js';

type Execa = typeof import('execa');
let execaModule: Promise<Execa> | undefined;
function loadExeca(): Promise<Execa> {
  execaModule ??= import('execa');
  return execaModule;
}

export interface SpawnOptions {
  /** Text written to stdin (which is closed after it; empty when absent). */
  input?: string;
  /** Environment variables on top of ours (or instead of ours with extendEnv: false). */
  env?: Record<string, string | undefined>;
  extendEnv?: boolean;
  /** Seconds until SIGTERM (then SIGKILL KILL_AFTER_SECONDS later). Required: every command is bounded. */
  timeoutSeconds: number;
}

export interface SpawnResult {
  argv: string[];
  /** Exit code; 127 when the binary does not exist, 126 when it cannot be run, null after a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** null when it exited 0; else how it ended (for CommandError). */
  end: CommandEnd | null;
}

/** Runs argv to completion, time-bounded. Never throws for anything the command does. */
export async function spawnBounded(argv: string[], opts: SpawnOptions): Promise<SpawnResult> {
  if (!(opts.timeoutSeconds > 0)) throw new RangeError(`timeoutSeconds must be > 0 (got ${opts.timeoutSeconds})`);
  const { execa } = await loadExeca();
  const timeoutMs = Math.round(opts.timeoutSeconds * 1000);
  const killAfterMs = KILL_AFTER_SECONDS * 1000;
  const child = execa(argv[0], argv.slice(1), {
    input: opts.input ?? '',
    env: opts.env,
    extendEnv: opts.extendEnv ?? true,
    reject: false,
    timeout: timeoutMs,
    forceKillAfterDelay: killAfterMs,
    cleanup: true,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  // A killed command's own children may keep stdout/stderr open (a forked helper that also
  // hangs): stop waiting for them a second after the SIGKILL, keeping what was read.
  const guard = setTimeout(() => {
    child.stdout?.destroy();
    child.stderr?.destroy();
  }, timeoutMs + killAfterMs + 1000);
  guard.unref();
  const r = await child;
  clearTimeout(guard);
  const code = r.code === 'ENOENT' ? 127 : r.exitCode === undefined && !r.signal ? 126 : (r.exitCode ?? null);
  return {
    argv,
    code,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    ms: Math.round(r.durationMs * 10) / 10,
    end: endOf(r, opts.timeoutSeconds, code),
  };
}

interface ExecaEnd {
  failed: boolean;
  timedOut: boolean;
  signal?: string;
  exitCode?: number;
  code?: string;
  originalMessage?: string;
}

function endOf(r: ExecaEnd, timeoutSeconds: number, code: number | null): CommandEnd | null {
  if (!r.failed) return null;
  if (r.timedOut) return { kind: 'timeout', seconds: timeoutSeconds, fix: COMMAND_TIMEOUT_FIX };
  if (r.code === 'ENOENT') return { kind: 'not-found' };
  if (r.signal) return { kind: 'signal', signal: r.signal };
  if (r.exitCode === undefined) return { kind: 'cannot-run', reason: (r.originalMessage ?? r.code ?? 'unknown error').split('\n')[0] };
  return { kind: 'exit', code };
}

export interface BackgroundOptions {
  /** Environment variables on top of ours. */
  env?: Record<string, string | undefined>;
  /** File that stdout and stderr are appended to (default: discarded). */
  logFile?: string;
  /** Own process group (survives our exit; the caller stops it by pid, or the group by -pid). */
  detached?: boolean;
  /**
   * Pipes for stdin, stdout and stderr instead of the log file: nothing is buffered, the caller
   * reads child.stdout/child.stderr live (read them: unread output is discarded) and may write
   * child.stdin. Not with logFile.
   */
  pipes?: boolean;
  /** With pipes: written to stdin, which is then closed (absent: stdin stays open for the caller). */
  input?: string;
}

export interface Background {
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (128 after a signal), once it exited and its pipes (if any) closed. */
  exited: Promise<number | null>;
  /** The signal that ended it (null when it exited), resolving with exited. */
  signal: Promise<string | null>;
}

/** Starts a long-running process (a daemon, a peer) without waiting for it and without a timeout. */
export async function spawnBackground(argv: string[], opts: BackgroundOptions = {}): Promise<Background> {
  const { execa } = await loadExeca();
  // the daemon writes its log itself (no pipe through us that would die with this process)
  if (opts.pipes && opts.logFile !== undefined) throw new TypeError('spawnBackground: pipes and logFile exclude each other');
  if (opts.input !== undefined && !opts.pipes) throw new TypeError('spawnBackground: input needs pipes');
  const fd = opts.logFile === undefined ? undefined : openSync(opts.logFile, 'a', 0o640);
  const common = { env: opts.env, extendEnv: true, reject: false, detached: opts.detached ?? false, cleanup: !opts.detached } as const;
  let child: ResultPromise;
  // execa's types list descriptors 1-9 only; any open descriptor is handed to the child as is
  try {
    if (opts.pipes) child = execa(argv[0], argv.slice(1), { ...common, stdio: 'pipe', buffer: false });
    else if (fd === undefined) child = execa(argv[0], argv.slice(1), { ...common, stdio: 'ignore' });
    else child = execa(argv[0], argv.slice(1), { ...common, stdin: 'ignore', stdout: fd as 3, stderr: fd as 3 });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (opts.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {}); // a child that exits without reading it: EPIPE, nothing to report
    child.stdin.end(opts.input);
  }
  const exited = child.then((r) => (r.code === 'ENOENT' ? 127 : (r.exitCode ?? (r.signal ? 128 : null))));
  const signal = child.then((r) => r.signal ?? null);
  if (child.pid === undefined) {
    const r = await child;
    const end: CommandEnd = r.code === 'ENOENT' ? { kind: 'not-found' } : { kind: 'cannot-run', reason: r.originalMessage ?? 'unknown error' };
    throw new CommandError(argv, r.code === 'ENOENT' ? 127 : 126, '', end);
  }
  return { pid: child.pid, child, exited, signal };
}
