/**
 * Docker restarts seen over D-Bus: a stand-in for systemd on a private bus answers the
 * listener's Manager.Subscribe and emits JobRemoved; a job of docker.service makes one repair
 * (our DOCKER-USER accepts are part of it), other units none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { connectBus } from '../../src/listen/bus.js';
import { Listener, type RepairFn } from '../../src/listen/listener.js';
import { SYSTEMD_MANAGER, SYSTEMD_NAME, SYSTEMD_PATH } from '../../src/listen/signals.js';
import { type PlainBus, startPlainBus, waitFor } from '../helpers/private-bus.js';
import { needs } from '../helpers/requirements.js';
import { FakeService } from './listen-fake-services.js';

const req = needs({ bins: ['dbus-daemon', 'dbus-send'] });

describe.skipIf(!req.ok)(`listener and systemd's docker.service jobs${req.reason}`, () => {
  let bus: PlainBus;
  let runDir: string;
  let listener: Listener;
  let systemd: FakeService;
  const reasons: string[] = [];

  beforeAll(async () => {
    bus = await startPlainBus();
    runDir = mkdtempSync(join(tmpdir(), 'natnet-listen-systemd-'));
    systemd = await FakeService.start(bus.address, SYSTEMD_NAME, (msg) =>
      msg.interface === SYSTEMD_MANAGER && msg.member === 'Subscribe' ? { signature: '', body: [] } : null,
    );
    const repair: RepairFn = async (r) => {
      reasons.push(r.reason);
      return { actions: [], bridges: ['virbr10'] };
    };
    listener = new Listener({
      connect: () => connectBus(bus.address),
      busAddress: bus.address,
      repair,
      runDir,
      log: silentLogger(),
      options: { intervalMs: 0, firewalldZone: null },
      timing: { quietMs: 10, maxWaitMs: 100, statusWriteMs: 10 },
    });
    void listener.run();
  });

  afterAll(async () => {
    await listener?.stop();
    systemd?.stop();
    await bus?.destroy();
    rmSync(runDir, { recursive: true, force: true });
  });

  const job = (unit: string) => systemd.signal(SYSTEMD_PATH, SYSTEMD_MANAGER, 'JobRemoved', 'uoss', [42, `${SYSTEMD_PATH}/job/42`, unit, 'done']);

  it('subscribes to systemd once connected', async () => {
    expect(await waitFor(() => reasons.includes('listener start'), 10_000)).toBe(true);
    expect(systemd.calls).toContain('Subscribe()');
  });

  it('a finished job of docker.service makes a repair; one of another unit does not', async () => {
    await listener.idle();
    const n = reasons.length;
    job('ssh.service');
    job('docker.service');
    expect(await waitFor(() => reasons.slice(n).some((r) => r.includes('systemd job for docker.service done')), 10_000, 10)).toBe(true);
    await listener.idle();
    expect(reasons.slice(n).join(' | ')).not.toMatch(/ssh/);
  });
});
