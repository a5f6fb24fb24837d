/**
 * Our dnsmasq is identified by /proc (its argv names our --conf-file); the pid file is a hint.
 * dnsmasq writes the pid file as 'nobody', so it may be emptied or rewritten: status must still
 * find it, up must not start a second one ("Address in use"), down must stop it, and a process
 * the pid file names that is not our dnsmasq is never signalled.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNs } from '../../src/selftest/exec.js';
import { dnsmasqPaths, layoutOf } from '../../src/state/layout.js';
import { isAlive } from '../../src/selftest/topology.js';
import { spawnBackground } from '../../src/sys/spawn.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`dnsmasq is found by its argv in /proc, the pid file is only a hint${req.reason}`, () => {
  let lab: Lab;
  let pidFile: string;
  let conf: string;
  const bystanders: ChildProcess[] = [];

  /** A long-running process in the router namespace that is not our dnsmasq. */
  async function bystander(extraArgs: string[] = []): Promise<number> {
    const { pid, child } = await spawnBackground(inNs(lab.router, [process.execPath, '-e', 'setTimeout(() => {}, 600000)', ...extraArgs]));
    bystanders.push(child);
    return pid;
  }

  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml());
    const paths = dnsmasqPaths(layoutOf({ config: lab.configPath, stateDir: lab.stateDir }), 'natnet');
    pidFile = paths.pid;
    conf = paths.conf;
  });
  afterAll(async () => {
    for (const b of bystanders) if (b.pid && isAlive(b.pid)) b.kill('SIGKILL');
    await lab?.cleanup();
  });

  const cases: { name: string; content: () => string | Promise<string>; bystander?: boolean }[] = [
    { name: 'an empty pid file', content: () => '' },
    { name: 'a garbage pid file', content: () => 'not a pid\n\u0000\u00ff' },
    { name: 'a pid beyond pid_max', content: () => '99999999999\n' },
    { name: 'a pid file naming an unrelated live process', content: async () => `${await bystander()}\n`, bystander: true },
    { name: 'a pid file naming a process whose argv carries our --conf-file but is not dnsmasq', content: async () => `${await bystander(['--', `--conf-file=${conf}`])}\n`, bystander: true },
  ];

  for (const c of cases) {
    it(`${c.name}: status finds dnsmasq, up starts no second one, down stops it and nothing else`, async () => {
      const before = await lab.snapshot();
      await lab.mustCli(['up']);
      const [ours] = await lab.dnsmasqPids();
      expect(ours).toBeGreaterThan(0);
      const text = await c.content();
      writeFileSync(pidFile, text);
      const named = c.bystander ? Number(text) : null;

      const status = await lab.cli(['status']);
      expect(status.code, status.all).toBe(0);
      expect(status.stdout).toContain(`dnsmasq   pid ${ours}`);

      const up = await lab.cli(['up']);
      expect(up.code, up.all).toBe(0);
      expect(up.stdout).toContain('nothing to change');
      expect(await lab.dnsmasqPids()).toEqual([ours]);

      const down = await lab.cli(['down']);
      expect(down.code, down.all).toBe(0);
      expect(await lab.dnsmasqPids()).toEqual([]);
      if (named !== null) expect(isAlive(named), 'the process the pid file named was not signalled').toBe(true);
      expect(await lab.snapshot()).toEqual(before);
    });
  }
});
