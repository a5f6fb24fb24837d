import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DomainRecord } from '../../src/model/types.js';
import { appliedFile, domainFile, domainsDir, layoutOf } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

/** `down` must not silently cut off running VMs: the hooks' records say which run, their taps confirm it. */
describe.skipIf(!req.ok)(`down with VMs running on the network${req.reason}`, () => {
  let lab: Lab;
  let layout: ReturnType<typeof layoutOf>;
  /** What the qemu hook records for a started VM: running, its NIC on our bridge with its tap. */
  const recordRunning = (vm: string, mac: string, tap: string, running = true) => {
    const rec: DomainRecord = { vm, nics: [{ mac, bridge: 'virbr10', tap }], metadataLeases: [], running, updated: new Date().toISOString() };
    const file = domainFile(layout, vm);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o644 });
  };
  const bridgeExists = async () => (await lab.links()).some((l) => l.startsWith('virbr10 '));
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml());
    layout = layoutOf({ config: lab.configPath, stateDir: lab.stateDir }, {});
  });
  // each case starts with no VM recorded (a guest's veth stays in the router namespace)
  beforeEach(() => rmSync(domainsDir(layout), { recursive: true, force: true }));
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('refuses, naming the VM, its tap and the network; nothing is removed; --force removes it', async () => {
    await lab.mustCli(['up']);
    const g = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
    recordRunning('web', g.mac, g.port);
    const before = await lab.hostState();

    const r = await lab.cli(['down']);
    expect(r.code, r.all).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('natnet-hook:'));
    expect(lines).toEqual([
      `natnet-hook: network natnet: VM "web" (${g.port}) running on virbr10 would lose its network; stop it first, or \`natnet-hook down --force natnet\` cuts it off`,
    ]);
    expect(r.stderr).not.toContain('    at ');
    expect(await lab.hostState()).toEqual(before);
    expect(existsSync(appliedFile(layout, 'natnet'))).toBe(true);
    // named explicitly: the same
    expect((await lab.cli(['down', 'natnet'])).code).toBe(1);

    const forced = await lab.cli(['down', '--force']);
    expect(forced.code, forced.all).toBe(0);
    expect(await bridgeExists()).toBe(false);
    expect(existsSync(appliedFile(layout, 'natnet'))).toBe(false);
  });

  it('a record that says running but whose tap is gone (the VM died without its release hook) does not hold down back', async () => {
    await lab.mustCli(['up']);
    recordRunning('ghost', '52:54:00:aa:bb:09', 'vnet99');
    const r = await lab.cli(['down']);
    expect(r.code, r.all).toBe(0);
    expect(await bridgeExists()).toBe(false);
  });

  it('a VM recorded as stopped does not either', async () => {
    await lab.mustCli(['up']);
    const g = await lab.addGuest({ mac: '52:54:00:aa:bb:02' });
    recordRunning('web', g.mac, g.port, false);
    recordRunning('ghost', '52:54:00:aa:bb:09', 'vnet99');
    const r = await lab.cli(['down']);
    expect(r.code, r.all).toBe(0);
    expect(await bridgeExists()).toBe(false);
  });
});
