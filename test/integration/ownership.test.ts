import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`down removes only what up added, also after a failed up${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml({ firewall: 'iptables' }));
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it("an admin's own bridge (adopt = true) and address stay after down", async () => {
    lab.writeConfig(networkToml({ firewall: 'iptables', extra: ['adopt = true'] }));
    await lab.mustRun(['ip', 'link', 'add', 'virbr10', 'address', '52:54:00:7e:27:af', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await lab.mustRun(['ip', 'addr', 'add', '192.168.100.1/24', 'dev', 'virbr10']);
    await lab.mustRun(['ip', 'link', 'set', 'virbr10', 'up']);
    const before = await lab.snapshot();
    expect((await lab.cli(['up'])).code).toBe(0);
    const down = await lab.cli(['down']);
    expect(down.code, down.all).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
    expect(await lab.mustRun(['ip', '-br', 'addr', 'show', 'dev', 'virbr10'])).toContain('192.168.100.1/24');
    await lab.mustRun(['ip', 'link', 'del', 'virbr10']);
    lab.writeConfig(networkToml({ firewall: 'iptables' }));
  });

  it('an up that fails half-way (dnsmasq cannot start) is still fully removed by down', async () => {
    const before = await lab.snapshot();
    const fake = mkdtempSync(join(tmpdir(), 'natnet-fakebin-'));
    writeFileSync(join(fake, 'dnsmasq'), '#!/bin/sh\necho "dnsmasq: refusing for the test" >&2\nexit 1\n');
    chmodSync(join(fake, 'dnsmasq'), 0o755);
    const up = await lab.cli(['up'], { env: { PATH: `${fake}:${process.env.PATH}` } });
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain('refusing for the test');
    expect(await lab.snapshot(), 'the bridge and rules did get applied').not.toEqual(before);
    const down = await lab.cli(['down']);
    expect(down.code, down.all).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  });
});
