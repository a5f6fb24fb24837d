import { boundedExec } from '../../src/selftest/exec.js';

/** Generous: a lab command (a whole CLI run included) that takes longer is hung, and the test says so. */
export const TEST_COMMAND_TIMEOUT = 120;

/** Tests start processes through the product's runner (src/sys/spawn.ts): argv arrays, time-bounded. */
export const exec = boundedExec(TEST_COMMAND_TIMEOUT);
