/**
 * Issue 7, item 2: a hung external command (here the real iptables-legacy-restore -w waiting for
 * the xtables lock, which a test-owned `flock` holds) must not hang `up` forever nor keep the
 * host lock: with NATNET_HOOK_COMMAND_TIMEOUT=2 it is killed, `up` (or the qemu `prepare` hook of
 * a VM on our bridge) fails with one line naming the command and the timeout, and the next run
 * (blocker gone) succeeds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Background, spawnBackground } from '../../src/sys/spawn.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { BIN, exec, Lab, REPO } from '../helpers/netns.js';
import { inNs, sleep } from '../../src/selftest/exec.js';
import { needs } from '../helpers/requirements.js';

/** A VM with a NIC on our bridge (virbr10), as libvirt passes it to the qemu hook. */
const PREPARE_XML = readFileSync(join(REPO, 'test/fixtures/libvirt/qemu-bridge-prepare.xml'), 'utf8');

/** Lines of stderr that are not the progress log (JSON lines): what a user reads. */
const userLines = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{"level":'));

const req = needs({ root: true, bins: [...LAB_BINS, 'iptables-legacy-restore', 'flock'] });

/** iptables-legacy takes the xtables lock at XTABLES_LOCKFILE when set (default /run/xtables.lock). */
const legacyEnv = (lockFile: string) => ({ NATNET_HOOK_IPTABLES: 'legacy', XTABLES_LOCKFILE: lockFile });

/** `flock FILE sleep 600` in its own process group: stopped by that group's id, sleep included. */
async function holdLock(file: string): Promise<Background> {
  const blocker = await spawnBackground(['flock', file, 'sleep', '600'], { detached: true });
  // held once flock has started its sleep
  for (let i = 0; i < 100; i++) {
    const probe = await spawnBackground(['flock', '-n', file, 'true']);
    if ((await probe.exited) !== 0) return blocker;
    await sleep(50);
  }
  throw new Error(`flock ${file} did not take the lock`);
}

function stopGroup(blocker: Background | undefined): void {
  if (!blocker) return;
  try {
    process.kill(-blocker.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe.skipIf(!req.ok)(`a hung external command is killed after NATNET_HOOK_COMMAND_TIMEOUT${req.reason}`, () => {
  let lab: Lab;
  let blocker: Background | undefined;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml({ firewall: 'iptables' }));
  });
  afterAll(async () => {
    stopGroup(blocker);
    await lab?.cleanup();
  });

  it('up fails within seconds with ONE line naming the command and the timeout, then up succeeds once the blocker is gone', async () => {
    const lockFile = join(lab.dir, 'xtables.lock');
    blocker = await holdLock(lockFile);

    const started = Date.now();
    const hung = await lab.cli(['up'], { env: { ...legacyEnv(lockFile), NATNET_HOOK_COMMAND_TIMEOUT: '2' } });
    const seconds = (Date.now() - started) / 1000;

    expect(hung.code, hung.all).not.toBe(0);
    expect(seconds, hung.all).toBeLessThan(15);
    const lines = userLines(hung.stderr);
    expect(lines, hung.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^natnet-hook: iptables-legacy-restore -w --noflush: timed out after 2 s and was killed \(.*NATNET_HOOK_COMMAND_TIMEOUT/);
    expect(hung.stderr).not.toContain('    at ');

    stopGroup(blocker);
    await blocker.exited;
    blocker = undefined;

    // the host lock was released with the failure: this `up` neither waits for it nor fails on it
    const up = await lab.cli(['up'], { env: legacyEnv(lockFile) });
    expect(up.code, up.all).toBe(0);
    expect(await lab.iptablesSave('iptables-legacy-save')).toContain('MASQUERADE');
    expect((await lab.cli(['status'], { env: legacyEnv(lockFile) })).code).toBe(0);
  });

  it('a prepare hook for our VM exits 1 within seconds with one line, and the next prepare succeeds', async () => {
    expect((await lab.cli(['down'])).code).toBe(0);
    const lockFile = join(lab.dir, 'xtables.lock');
    blocker = await holdLock(lockFile);
    const prepare = (env: Record<string, string>) =>
      exec(inNs(lab.router, [process.execPath, BIN, '--config', lab.configPath, '--state-dir', lab.stateDir, 'hook', 'qemu', 'lv-vm1', 'prepare', 'begin', '-']), {
        input: PREPARE_XML,
        env,
      });

    const started = Date.now();
    const hung = await prepare({ ...legacyEnv(lockFile), NATNET_HOOK_COMMAND_TIMEOUT: '2' });
    expect(hung.code, hung.stderr).toBe(1);
    expect((Date.now() - started) / 1000, hung.stderr).toBeLessThan(15);
    const lines = userLines(hung.stderr);
    expect(lines, hung.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/iptables-legacy-restore -w --noflush: timed out after 2 s/);
    expect(hung.stderr).not.toContain('    at ');

    stopGroup(blocker);
    await blocker.exited;
    blocker = undefined;
    const again = await prepare(legacyEnv(lockFile));
    expect(again.code, again.stderr).toBe(0);
  });
});
