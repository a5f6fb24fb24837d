/**
 * Issue 7, item 1: the host lock against the real CLI and hooks in a lab namespace. Leftover
 * lock files of older versions (empty, garbage, a dead pid) have no effect; a holder killed with
 * SIGKILL frees the lock at once; a waiter gives up within its bound with one line naming the
 * holder, a waiting CLI says once (after 2 s) who holds it, a waiting hook never prints that.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { legacyLockFiles, layoutOf } from '../../src/state/layout.js';
import { DEFAULT_LOCK_WAIT_MS } from '../../src/state/lock.js';
import { spawnBackground } from '../../src/sys/spawn.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { BIN, Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });
const FIXTURE = join(REPO, 'test', 'fixtures', 'libvirt', 'qemu-bridge-prepare.xml');
const HOOK = join(REPO, 'hooks', 'qemu');

interface Started {
  child: ChildProcess;
  pid: number;
  /** stderr so far */
  stderr(): string;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** A process in the lab's router namespace whose pid we need (`ip netns exec` and `env` exec, so it is node's). */
async function startInLab(lab: Lab, argv: string[], opts: { env?: Record<string, string>; input?: string; path?: string } = {}): Promise<Started> {
  const inner = opts.path ? ['/usr/bin/env', `PATH=${opts.path}`, ...argv] : argv;
  const { child, pid, exited } = await spawnBackground(['ip', 'netns', 'exec', lab.router, ...inner], { env: opts.env, pipes: true, input: opts.input ?? '' });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b) => {
    stdout += b;
  });
  child.stderr?.on('data', (b) => {
    stderr += b;
  });
  const done = exited.then((code) => ({ code, stdout, stderr }));
  return { child, pid, stderr: () => stderr, done };
}

/** CPU time (user + system, in clock ticks of 1/100 s) a live process has used. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: still running after ${ms / 1000} s`)), ms))]);

describe.skipIf(!req.ok)(`the host lock: an abstract socket the kernel frees${req.reason}`, () => {
  let lab: Lab;
  const started: Started[] = [];
  const strays: number[] = [];
  let holders = 0;

  const cliArgv = (args: string[]) => [process.execPath, BIN, '--config', lab.configPath, '--state-dir', lab.stateDir, ...args];
  const hookEnv = () => ({ NATNET_HOOK_CONFIG: lab.configPath, NATNET_HOOK_STATE_DIR: lab.stateDir });
  const prepareXml = (vm: string, mac: string) => readFileSync(FIXTURE, 'utf8').replace('<name>lv-vm1</name>', `<name>${vm}</name>`).replace('52:54:00:aa:bb:01', mac);

  /**
   * `natnet-hook up` holding the lock while its first `ip` hangs (a fake ip that records its pid
   * and sleeps): a live holder the test controls. The fake ip is started under the lock, so it
   * also shows that a child never inherits the lock's socket.
   */
  async function hangingHolder(): Promise<Started> {
    const fake = join(lab.dir, 'fakebin');
    mkdirSync(fake, { recursive: true });
    const mark = join(lab.dir, `ip-hangs.${++holders}`);
    writeFileSync(join(fake, 'ip'), `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(mark)}, String(process.pid));\nsetTimeout(() => {}, 600000);\n`);
    chmodSync(join(fake, 'ip'), 0o755);
    const holder = await startInLab(lab, cliArgv(['up']), { path: `${fake}:${process.env.PATH}`, env: { NATNET_HOOK_COMMAND_TIMEOUT: '600' } });
    started.push(holder);
    for (let i = 0; i < 200 && !existsSync(mark); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(mark)) throw new Error(`the holder never ran ip: ${(await Promise.race([holder.done, Promise.resolve(null)]))?.stderr ?? ''}`);
    strays.push(Number(readFileSync(mark, 'utf8')));
    return holder;
  }

  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml({ firewall: 'iptables' }));
    await lab.mustCli(['up']);
  });
  afterEach(() => {
    for (const s of started.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    for (const pid of strays.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('leftover lock / lock.break files (dead pid, empty, garbage) neither block nor spin: CLI and hook', async () => {
    const [lockFile, breakFile] = legacyLockFiles(layoutOf({ config: lab.configPath, stateDir: lab.stateDir }));
    const cases = [
      ['4194305', ''],
      ['4194305', 'garbage'],
      ['', ''],
      ['\u0000garbage\u00ff', '4194305'],
    ];
    for (const [i, [lock, brk]] of cases.entries()) {
      writeFileSync(lockFile, lock);
      writeFileSync(breakFile, brk);
      const up = await startInLab(lab, cliArgv(['up']));
      const r = await within(up.done, 10_000, `up with lock=${JSON.stringify(lock)} lock.break=${JSON.stringify(brk)}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('held by');
      const hook = await startInLab(lab, [process.execPath, HOOK, `legacy${i}`, 'prepare', 'begin', '-'], {
        env: hookEnv(),
        input: prepareXml(`legacy${i}`, `52:54:00:dd:00:0${i}`),
      });
      const h = await within(hook.done, 10_000, 'hook prepare');
      expect(h.code, h.stderr).toBe(0);
      expect(h.stderr).toBe('');
      expect(readFileSync(lockFile, 'utf8')).toBe(lock); // never read as a holder, never removed
    }
  });

  it('a holder killed with SIGKILL frees the lock at once (its hanging child holds nothing)', async () => {
    const holder = await hangingHolder();
    holder.child.kill('SIGKILL');
    await holder.done;
    const up = await startInLab(lab, cliArgv(['up']));
    const r = await within(up.done, 10_000, 'up after the holder was killed');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('held by');
  });

  it(
    'waiters give up within their bound with one line naming the holder; the CLI notes the holder once, the hook never prints it',
    async () => {
      const holder = await hangingHolder();
      const cli = await startInLab(lab, cliArgv(['lease', 'add', 'waiter', '192.168.100.77', '--mac', '52:54:00:dd:01:01']));
      const hook = await startInLab(lab, [process.execPath, HOOK, 'waitvm', 'prepare', 'begin', '-'], { env: hookEnv(), input: prepareXml('waitvm', '52:54:00:dd:01:02') });
      started.push(cli, hook);
      await new Promise((r) => setTimeout(r, 1500));
      expect(cli.stderr(), 'no note before 2 s of waiting').not.toContain('held by');
      const ticksAt = [cpuTicks(cli.pid), cpuTicks(hook.pid)];
      await new Promise((r) => setTimeout(r, 3000));
      // 3 s of waiting: a busy loop would use ~300 ticks; sleeping on the holder's socket, almost none
      expect(cpuTicks(cli.pid) - ticksAt[0]).toBeLessThan(60);
      expect(cpuTicks(hook.pid) - ticksAt[1]).toBeLessThan(60);
      const [c, h] = await within(Promise.all([cli.done, hook.done]), DEFAULT_LOCK_WAIT_MS + 15_000, 'waiters');
      const holderCmd = new RegExp(`held by pid ${holder.pid} \\(natnet-hook --config \\S+ --state-dir \\S+ up\\)`);

      expect(c.code, c.stderr).toBe(5);
      const cliLines = c.stderr.trim().split('\n');
      expect(cliLines.filter((l) => l.includes('held by')), c.stderr).toHaveLength(2); // the note, then the error
      expect(JSON.parse(cliLines[0]).msg).toMatch(holderCmd);
      expect(cliLines.at(-1)).toMatch(/^natnet-hook: .*the lock is held by pid \d+ .* for more than 30 s; /);
      expect(cliLines.at(-1)).toMatch(holderCmd);
      expect(c.stderr).not.toContain('    at ');

      expect(h.code).toBe(1);
      expect(h.stderr.split('\n').filter(Boolean), h.stderr).toHaveLength(1);
      expect(h.stderr).toMatch(/^natnet-hook: VM "waitvm" not started: .*the lock is held by pid \d+ .* for more than 30 s; /);
      expect(h.stderr).toMatch(holderCmd);
      // the hook leaves no request behind
      expect(Object.keys(lab.stateFiles() ?? {}).filter((f) => f.includes('prepare-pending/'))).toEqual([]);
      holder.child.kill('SIGKILL');
    },
    DEFAULT_LOCK_WAIT_MS + 40_000,
  );
});
