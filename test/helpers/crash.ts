/** `up` of a lab SIGKILLed (its whole process group) after delayMs; true when the kill landed while it ran. */
import { inNs } from '../../src/selftest/exec.js';
import { spawnBackground } from '../../src/sys/spawn.js';
import { BIN, type Lab } from './netns.js';

export async function upKilledAfter(lab: Lab, delayMs: number, env: Record<string, string> = {}): Promise<boolean> {
  const argv = inNs(lab.router, [process.execPath, BIN, '--config', lab.configPath, '--state-dir', lab.stateDir, 'up']);
  const { pid, child, exited, signal } = await spawnBackground(argv, { detached: true, env });
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-pid, 'SIGKILL');
  }, delayMs);
  await exited;
  clearTimeout(timer);
  return (await signal) === 'SIGKILL';
}
