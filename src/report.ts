import { ExitCode, errnoLine, isErrnoError, NatnetError } from './errors.js';
import { isJournalStream, journalPrefix } from './log/journal.js';

/**
 * The one place errors become a message and an exit code. Whatever is thrown, the user sees
 * lines starting "natnet-hook: ", never a stack trace: a NatnetError's own lines; a system
 * error (fs, spawn) as its path, what failed and the code; anything else as its message on one
 * line. NATNET_HOOK_DEBUG=1 adds the stack of an unexpected error, for a bug report.
 */
export function report(e: unknown, env: NodeJS.ProcessEnv = process.env): number {
  const err = e as { code?: string; exitCode?: number };
  if (typeof err?.code === 'string' && err.code.startsWith('commander.')) {
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? ExitCode.ok : ExitCode.usage;
  }
  const lines = e instanceof NatnetError ? e.message.split('\n') : [unexpected(e)];
  // under systemd the journal files it at priority err (log/journal.ts)
  const prefix = isJournalStream(env) ? journalPrefix('error') : '';
  process.stderr.write(lines.map((l) => `${prefix}natnet-hook: ${l}\n`).join(''));
  if (!(e instanceof NatnetError) && env.NATNET_HOOK_DEBUG === '1' && e instanceof Error && e.stack) {
    process.stderr.write(`${e.stack}\n`);
  }
  return e instanceof NatnetError ? e.exitCode : ExitCode.failure;
}

/** One line for an error that is not ours. */
export function unexpected(e: unknown): string {
  if (isErrnoError(e)) return errnoLine(e);
  const message = e instanceof Error ? e.message : String(e);
  return message.trim().split(/\s*\n\s*/).join('; ') || (e instanceof Error ? e.name : 'unknown error');
}

/**
 * Errors nobody awaited (an 'error' event without a listener, a stray rejection) go through
 * report() too, instead of Node's stack trace. A reader that closed our stdout (`lease list |
 * head`) ends the run quietly, as it does for any Unix tool.
 */
export function reportUncaught(): void {
  const fatal = (e: unknown) => {
    // the only unawaited write is stdout's (children's stdin and the bus have listeners)
    const readerGone = (e as NodeJS.ErrnoException)?.code === 'EPIPE' && (e as NodeJS.ErrnoException).syscall === 'write';
    process.exit(readerGone ? (process.exitCode ?? ExitCode.ok) : report(e));
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}
