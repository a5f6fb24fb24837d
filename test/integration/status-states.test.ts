import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/engine/status.js';
import type { ListenerStatus } from '../../src/listen/status-file.js';
import type { DomainRecord } from '../../src/model/types.js';
import { appliedFile, domainFile, layoutOf, listenerStatusFile, quarantineFile } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`status states: healthy, degraded, down, pending${req.reason}`, () => {
  let lab: Lab;
  let layout: ReturnType<typeof layoutOf>;
  const status = async (args: string[] = []) => {
    const r = await lab.cli(['status', '--json', ...args]);
    const report = JSON.parse(r.stdout) as StatusReport;
    return { code: r.code, report, net: report.networks[0], all: r.all };
  };
  /** A listener.json as a running listener writes it (pid: this test process, alive). */
  const listenerRunning = () => {
    const s: ListenerStatus = {
      pid: process.pid,
      started: new Date().toISOString(),
      updated: new Date().toISOString(),
      bus: { address: 'unix:path=/nonexistent', connected: true, uniqueName: ':1.1', reconnects: 0 },
      services: { networkManager: false, firewalld: false },
      lastEvent: null,
      lastRepair: null,
      repairs: 0,
      nmManaged: {},
      firewalldZone: {},
    };
    const file = listenerStatusFile(layout);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, JSON.stringify(s));
    return () => rmSync(file);
  };
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml({ extra: ['autostart = false'] }));
    layout = layoutOf({ config: lab.configPath, stateDir: lab.stateDir }, {});
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('down on purpose: one line, exit 0; --json says state down with no problems and schemaVersion 1', async () => {
    const text = await lab.cli(['status']);
    expect(text.code, text.all).toBe(0);
    expect(text.stdout.split('\n').filter((l) => l.includes('natnet'))).toEqual(['network natnet: down (not applied; `natnet-hook up` brings it up)']);
    expect(text.stdout).not.toContain('problems:');
    const { code, report, net } = await status();
    expect(code).toBe(0);
    expect(report.schemaVersion).toBe(1);
    expect(report.healthy).toBe(true);
    expect(net).toMatchObject({ name: 'natnet', state: 'down', applied: false, problems: [], configChanged: [] });
  });

  it('down, autostart and the listener running: it should have been brought up, exit 4', async () => {
    lab.writeConfig(networkToml());
    const stop = listenerRunning();
    try {
      const { code, net } = await status();
      expect(code).toBe(4);
      expect(net.state).toBe('down');
      expect(net.problems).toEqual([expect.stringContaining('autostart = true and the listener is running, but the network is not up')]);
      const text = await lab.cli(['status']);
      expect(text.stdout).toMatch(/^network natnet: DOWN: autostart = true and the listener is running/m);
    } finally {
      stop();
    }
    // without a running listener, nobody promised to bring it up
    expect((await status()).code).toBe(0);
  });

  it('applied: healthy, exit 0', async () => {
    await lab.mustCli(['up']);
    const { code, net, all } = await status();
    expect(code, all).toBe(0);
    expect(net.state).toBe('healthy');
  });

  it('config changed and not applied: pending, listing the changed keys; up applies it', async () => {
    lab.writeConfig(networkToml({ dhcpRange: '192.168.100.100-192.168.100.200', extra: ['lease_time = "1h"'] }));
    const { code, net, all } = await status();
    expect(code, all).toBe(4);
    expect(net.state).toBe('pending');
    expect(net.configChanged).toEqual(['dhcp_range', 'lease_time']);
    // the host is checked against what was applied: no drift listed for the change itself
    expect(net.problems).toEqual([]);
    const text = await lab.cli(['status']);
    expect(text.stdout).toContain('network natnet: PENDING: config changed, not applied: dhcp_range, lease_time (`natnet-hook up` applies it)');
    await lab.mustCli(['up']);
    const after = await status();
    expect(after.code, after.all).toBe(0);
    expect(after.net.state).toBe('healthy');
  });

  it("a running VM's tap off the bridge is a problem (degraded); up puts it back", async () => {
    const g = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
    // libvirt gives a tap the guest's MAC with fe: in front
    await lab.mustRun(['ip', 'link', 'set', g.port, 'address', 'fe:54:00:aa:bb:01']);
    const rec: DomainRecord = { vm: 'web', nics: [{ mac: g.mac, bridge: 'virbr10', tap: g.port }], metadataLeases: [], running: true, updated: new Date().toISOString() };
    mkdirSync(dirname(domainFile(layout, 'web')), { recursive: true, mode: 0o755 });
    writeFileSync(domainFile(layout, 'web'), JSON.stringify(rec));
    expect((await status()).code).toBe(0);

    await lab.mustRun(['ip', 'link', 'set', g.port, 'nomaster']);
    const { code, net, all } = await status();
    expect(code, all).toBe(4);
    expect(net.state).toBe('degraded');
    expect(net.problems).toEqual([`tap ${g.port} of running VM "web" is not on virbr10 (on no bridge): the VM is cut off; \`natnet-hook up\` puts it back`]);
    await lab.mustCli(['up']);
    expect((await status()).code).toBe(0);
    rmSync(domainFile(layout, 'web'));
    expect((await lab.cli(['down'])).code).toBe(0);
  });

  it('an applied record that was bad: degraded while the network is there, down once down removed it (the *.bad stays reported)', async () => {
    await lab.mustCli(['up']);
    writeFileSync(appliedFile(layout, 'natnet'), '{}');
    const up = await status();
    expect(up.code, up.all).toBe(4);
    expect(up.net.state).toBe('degraded');
    expect(up.net.problems[0]).toContain('its applied record was bad and is set aside');
    expect((await lab.cli(['down'])).code).toBe(0);
    const down = await status();
    expect(down.net).toMatchObject({ state: 'down', problems: [] });
    expect(down.code, 'the bad record is reported until removed').toBe(4);
    rmSync(quarantineFile(appliedFile(layout, 'natnet')));
    expect((await status()).code).toBe(0);
  });
});
