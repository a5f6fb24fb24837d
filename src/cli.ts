import { ExitCode, NatnetError } from './errors.js';
import { isHookCall, parseFastUp } from './fast-argv.js';

export async function main(argv: string[]): Promise<void> {
  try {
    // The hook path skips commander entirely (start-up time: libvirtd waits for us).
    if (isHookCall(argv.slice(2))) {
      const { runHook } = await import('./commands/hook.js');
      process.exitCode = await runHook(argv.slice(2));
      return;
    }
    // `up` is what hooks, timers and admins run most: it skips commander too (~7 ms of start-up).
    const fast = parseFastUp(argv.slice(2));
    if (fast) {
      const [{ makeContext }, { runUp }] = await Promise.all([import('./engine/context.js'), import('./commands/up.js')]);
      await runUp(makeContext(fast.context), fast.network);
      return;
    }
    const { buildProgram } = await import('./program.js');
    await buildProgram().parseAsync(argv);
  } catch (e) {
    process.exitCode = report(e);
  }
}

/** The one place errors become a message and an exit code. */
function report(e: unknown): number {
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
