import { parseFast } from './argv/fast.js';
import { report, reportUncaught } from './report.js';

export async function main(argv: string[]): Promise<void> {
  try {
    // `up` and the hook skip commander (start-up time: libvirtd waits for the hook; `up` is what
    // hooks, timers and admins run most). Same grammar, same meaning: see src/argv/grammar.ts.
    const fast = parseFast(argv.slice(2));
    // the hook keeps its own policy for what may fail a VM; everything else reports through report()
    if (fast?.command[0] !== 'hook') reportUncaught();
    if (fast) {
      const { runFastCommand } = await import('./argv/run-fast.js');
      await runFastCommand(fast);
      return;
    }
    // everything else: commander (loaded only now)
    const { runProgram } = await import('./program.js');
    await runProgram(argv);
  } catch (e) {
    process.exitCode = report(e);
  }
}
