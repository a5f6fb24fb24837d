import { ExitCode, NatnetError } from './errors.js';

/** The one place errors become a message and an exit code. */
export function report(e: unknown): number {
  const err = e as { code?: string; exitCode?: number };
  if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? ExitCode.ok : ExitCode.usage;
  }
  if (e instanceof NatnetError) {
    process.stderr.write(`natnet-hook: ${e.message.split('\n').join('\nnatnet-hook: ')}\n`);
    return e.exitCode;
  }
  process.stderr.write(`natnet-hook: ${(e as Error)?.stack ?? String(e)}\n`);
  return ExitCode.failure;
}
