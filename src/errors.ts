/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  degraded: 4,
  lock: 5,
} as const;

export class NatnetError extends Error {
  readonly exitCode: number = ExitCode.failure;
}

export interface ConfigProblem {
  file: string;
  field: string;
  value?: unknown;
  expected: string;
}

export function formatProblem(p: ConfigProblem): string {
  const value = p.value === undefined ? '' : ` = ${JSON.stringify(p.value)}`;
  return `${p.file}: ${p.field}${value}: ${p.expected}`;
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
      return `${displayArgv(argv.slice(0, 1))}: command not found (install the package that provides it)`;
    case 'cannot-run':
      return `${cmd}: cannot run: ${end.reason}`;
  }
}

export class LockError extends NatnetError {
  override readonly exitCode = ExitCode.lock;
}

export class UsageError extends NatnetError {
  override readonly exitCode = ExitCode.usage;
}
