import { isHookCall, parseFastUp } from './fast-argv.js';
import { report, reportUncaught } from './report.js';

export async function main(argv: string[]): Promise<void> {
  try {
    // The hook path skips commander entirely (start-up time: libvirtd waits for us).
    if (isHookCall(argv.slice(2))) {
      const { runHook } = await import('./commands/hook.js');
      process.exitCode = await runHook(argv.slice(2));
      return;
    }
    reportUncaught();
    // `up` is what hooks, timers and admins run most: it skips commander too (~7 ms of start-up).
    const fast = parseFastUp(argv.slice(2));
    if (fast) {
      const [{ makeContext }, { runUp }] = await Promise.all([import('./engine/context.js'), import('./commands/up.js')]);
      await runUp(makeContext(fast.context), fast.network);
      return;
    }
    // everything else: commander (loaded only now)
    const { runProgram } = await import('./program.js');
    await runProgram(argv);
  } catch (e) {
    process.exitCode = report(e);
  }
}

