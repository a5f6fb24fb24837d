import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`plan / --dry-run print what up would do and change nothing${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml({ firewall: 'iptables' }));
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  for (const args of [['plan'], ['--dry-run', 'up']]) {
    it(args.join(' '), async () => {
      const before = await lab.snapshot();
      const files = lab.stateFiles();
      const r = await lab.cli(args);
      expect(r.code, r.all).toBe(0);
      expect(r.all).toMatch(/virbr10/);
      expect(r.all).toMatch(/dnsmasq/);
      expect(await lab.snapshot()).toEqual(before);
      expect(await lab.dnsmasqPids()).toEqual([]);
      // Only the lock may have appeared; nothing the engine applies or records.
      const after = Object.keys(lab.stateFiles() ?? {}).filter((f) => !/lock/i.test(f));
      expect(after).toEqual(Object.keys(files ?? {}).filter((f) => !/lock/i.test(f)));
    });
  }

  it('after a real up, plan says there is nothing to do', async () => {
    expect((await lab.cli(['up'])).code).toBe(0);
    const before = await lab.snapshot();
    const r = await lab.cli(['plan']);
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toMatch(/nothing to change/i);
    expect(await lab.snapshot()).toEqual(before);
  });
});
