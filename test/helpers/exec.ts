import type { Exec } from '../../src/selftest/exec.js';
import { execResult } from '../../src/selftest/exec.js';
import { spawnBounded } from '../../src/sys/spawn.js';

/** Tests start processes through the product's runner (src/sys/spawn.ts): argv arrays, time-bounded. */
export const exec: Exec = async (argv, opts = {}) =>
  execResult(await spawnBounded(argv, { input: opts.input, env: opts.env, timeoutSeconds: opts.timeoutSeconds ?? TEST_COMMAND_TIMEOUT }));

/** Generous: a lab command (a whole CLI run included) that takes longer is hung, and the test says so. */
export const TEST_COMMAND_TIMEOUT = 120;
