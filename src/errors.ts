import { basename } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { installHint } from './observe/tools.js';

/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  degraded: 4,
  lock: 5,
} as const;

const BRAND = Symbol.for('natnet-hook.error');

export class NatnetError extends Error {
  readonly exitCode: number = ExitCode.failure;
  readonly [BRAND] = true;

  /**
   * Each CommonJS bundle (cli, program, hook-command) carries its own copy of this class, so
   * `e instanceof NatnetError` checks the brand and holds across bundles; subclasses check as usual.
   */
  static override [Symbol.hasInstance](v: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof
    if (this !== NatnetError) return Function.prototype[Symbol.hasInstance].call(this, v);
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BRAND] === true;
  }
}

export interface ConfigProblem {
  file: string;
  field: string;
  value?: unknown;
  expected: string;
}

/** `file: field = value: expected`; a problem of the whole file (field '') is `file: expected`. */
export function formatProblem(p: ConfigProblem): string {
  const value = p.value === undefined ? '' : ` = ${JSON.stringify(p.value)}`;
  return p.field || value ? `${p.file}: ${p.field}${value}: ${p.expected}` : `${p.file}: ${p.expected}`;
}

/** Invalid config or input: every problem found, one line each. */
export class ConfigError extends NatnetError {
  override readonly exitCode = ExitCode.config;
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/** How an external command ended badly. */
export type CommandEnd =
  | { kind: 'exit'; code: number | null }
  | { kind: 'timeout'; seconds: number; fix: string }
  | { kind: 'signal'; signal: string }
  | { kind: 'not-found' }
  | { kind: 'cannot-run'; reason: string };

/** argv as one readable line: arguments joined by spaces, control characters escaped. */
export function displayArgv(argv: string[]): string {
  return argv.map((a) => a.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1))).join(' ');
}

/** The first non-empty line of a command's stderr (what it says went wrong), trimmed. */
export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}

/** An external command failed: ONE line naming the command, how it ended, and its first stderr line. */
export class CommandError extends NatnetError {
  readonly end: CommandEnd;
  constructor(
    readonly argv: string[],
    readonly exitCodeOfCommand: number | null,
    readonly stderr: string,
    end?: CommandEnd,
  ) {
    const how = end ?? { kind: 'exit', code: exitCodeOfCommand };
    super(describeCommandEnd(argv, how, firstLine(stderr)));
    this.end = how;
  }
}

function describeCommandEnd(argv: string[], end: CommandEnd, said: string): string {
  const cmd = displayArgv(argv);
  const tail = said ? `: ${said}` : '';
  switch (end.kind) {
    case 'exit':
      return `${cmd}: ${said || `exit ${end.code}`}`;
    case 'timeout':
      return `${cmd}: timed out after ${end.seconds} s and was killed (${end.fix})${tail}`;
    case 'signal':
      return `${cmd}: killed by ${end.signal}${tail}`;
    case 'not-found':
      return `${displayArgv(argv.slice(0, 1))}: command not found (${installHint(basename(argv[0] ?? ''))})`;
    case 'cannot-run':
      return `${cmd}: cannot run: ${end.reason}`;
  }
}

/**
 * The host holds something the config claims (the subnet on another interface, a bridge
 * natnet-hook did not create): the config or the host must change, so exit 3 like a config error.
 */
export class ConflictError extends NatnetError {
  override readonly exitCode = ExitCode.config;
}

export class LockError extends NatnetError {
  override readonly exitCode = ExitCode.lock;
}

export class UsageError extends NatnetError {
  override readonly exitCode = ExitCode.usage;
}

/**
 * Directories natnet-hook reads its config from or keeps its state in, owned by another user or
 * writable by group/others (state/trust.ts): one line per directory, naming the fix.
 */
export class UnsafeDirError extends NatnetError {
  override readonly exitCode = ExitCode.config;
}

const ERRNO_VERB: Record<string, string> = {
  open: 'cannot open',
  read: 'cannot read',
  write: 'cannot write',
  close: 'cannot close',
  fsync: 'cannot sync',
  mkdir: 'cannot create directory',
  rmdir: 'cannot remove directory',
  scandir: 'cannot list directory',
  opendir: 'cannot list directory',
  unlink: 'cannot remove',
  rename: 'cannot rename',
  stat: 'cannot stat',
  lstat: 'cannot stat',
  fstat: 'cannot stat',
  chmod: 'cannot chmod',
  fchmod: 'cannot chmod',
  chown: 'cannot chown',
  access: 'cannot access',
  copyfile: 'cannot copy',
  symlink: 'cannot create symlink',
  link: 'cannot create link',
  readlink: 'cannot read link',
  utime: 'cannot set times of',
};

/** A Node system error (fs, spawn): has an errno code like "EACCES" and the call that failed. */
export function isErrnoError(e: unknown): e is NodeJS.ErrnoException & { syscall: string } {
  const err = e as NodeJS.ErrnoException;
  return e instanceof Error && typeof err.code === 'string' && /^E[A-Z0-9]+$/.test(err.code) && typeof err.syscall === 'string';
}

/**
 * One line for a system error, without the path: "cannot open: permission denied (EACCES)".
 * The description is Node's own (libuv's strerror), the verb comes from the failed call.
 */
export function describeErrno(e: NodeJS.ErrnoException & { syscall: string }): string {
  const what = /^[A-Z0-9_]+: ([^,\n]+)/.exec(e.message)?.[1] ?? (e.errno === undefined ? undefined : getSystemErrorMap().get(e.errno)?.[1]) ?? e.code;
  const spawned = /^spawn (.+)$/.exec(e.syscall);
  const verb = spawned ? `cannot run ${spawned[1]}` : (ERRNO_VERB[e.syscall] ?? `${e.syscall} failed`);
  const dest = (e as { dest?: string }).dest;
  return `${verb}${dest ? ` to ${dest}` : ''}: ${what} (${e.code})`;
}

/** A system error as one line naming its path: "/etc/natnet-hook/config.toml: cannot open: permission denied (EACCES)". */
export function errnoLine(e: NodeJS.ErrnoException & { syscall: string }): string {
  return e.path ? `${e.path}: ${describeErrno(e)}` : describeErrno(e);
}
