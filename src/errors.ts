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

/** An external command failed. */
export class CommandError extends NatnetError {
  constructor(
    readonly argv: string[],
    readonly exitCodeOfCommand: number | null,
    readonly stderr: string,
  ) {
    const why = stderr.trim().split('\n')[0] || `exit ${exitCodeOfCommand}`;
    super(`${argv.join(' ')}: ${why}`);
  }
}

export class LockError extends NatnetError {
  override readonly exitCode = ExitCode.lock;
}

export class UsageError extends NatnetError {
  override readonly exitCode = ExitCode.usage;
}
