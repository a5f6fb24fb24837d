import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../../src/observe/tools.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

/** Checked before the first step: a failing `up` leaves the host exactly as it found it. */
describe.skipIf(!req.ok)(`preflight: up refuses before touching anything${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml());
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('another interface holding an address in the subnet (e.g. libvirt on 192.168.100.0/24): one line naming it, nothing applied', async () => {
    await lab.mustRun(['ip', 'link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'other1']);
    await lab.mustRun(['ip', 'addr', 'add', '192.168.100.1/24', 'dev', 'other0']);
    try {
      const before = await lab.hostState();
      const r = await lab.cli(['up']);
      expect(r.code, r.all).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('natnet-hook:'));
      expect(lines).toEqual([expect.stringMatching(/other0 already has 192\.168\.100\.1\/24, which overlaps 192\.168\.100\.0\/24; remove that address/)]);
      expect(r.stderr).not.toContain('    at ');
      expect(await lab.hostState()).toEqual(before);
      const plan = await lab.cli(['plan']);
      expect(plan.code).toBe(1);
      expect(plan.all).toContain('other0 already has 192.168.100.1/24');
    } finally {
      await lab.mustRun(['ip', 'link', 'del', 'other0']);
    }
  });

  it('dnsmasq not installed: named before the bridge or any rule exists', async () => {
    // a PATH with every tool the plan needs but dnsmasq (the runner looks programs up in PATH)
    const bin = join(lab.dir, 'no-dnsmasq-bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['ip', 'iptables', 'iptables-nft-restore', 'iptables-nft-save', 'iptables-legacy-restore', 'iptables-legacy-save', 'nft']) {
      const dir = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].find((d) => missingTools([tool], { PATH: d }).length === 0);
      if (dir) symlinkSync(join(dir, tool), join(bin, tool));
    }
    const before = await lab.hostState();
    const r = await lab.cli(['up'], { env: { PATH: bin } });
    expect(r.code, r.all).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('natnet-hook:'));
    expect(lines).toEqual([expect.stringMatching(/^natnet-hook: dnsmasq: not found in PATH, and the plan for network natnet needs it \(install the package that provides it\)$/)]);
    expect(await lab.hostState()).toEqual(before);
    // and with dnsmasq back, up works
    const ok = await lab.cli(['up']);
    expect(ok.code, ok.all).toBe(0);
    expect((await lab.cli(['down'])).code).toBe(0);
  });
});
