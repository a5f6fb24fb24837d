import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatnetError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { connectBus } from '../../src/listen/bus.js';
import { Listener, type RepairFn } from '../../src/listen/listener.js';
import { NM_NAME, NM_PATH } from '../../src/listen/signals.js';
import { readListenerStatus } from '../../src/listen/status-file.js';
import { type PlainBus, startPlainBus, waitFor } from '../helpers/private-bus.js';
import { needs } from '../helpers/requirements.js';
import { fakeFirewalld, fakeNetworkManager } from './listen-fake-services.js';

const req = needs({ bins: ['dbus-daemon', 'dbus-send'] });

interface Recorded {
  reason: string;
  autostart: boolean;
}

function recordingRepair(bridges = ['virbr10', 'virbr11']) {
  const calls: Recorded[] = [];
  const repair: RepairFn = async (r) => {
    calls.push(r);
    return { actions: [`natnet: repaired for ${r.reason}`], bridges };
  };
  return { calls, repair };
}

const FAST = { quietMs: 10, maxWaitMs: 100, firewalldReadyIntervalMs: 10, statusWriteMs: 10, reconnectDelayMs: 50, reconnectMaxDelayMs: 200 };

describe.skipIf(!req.ok)(`listener against a private bus with fake services${req.reason}`, () => {
  let bus: PlainBus;
  let runDir: string;
  let listener: Listener;
  let running: Promise<void>;
  let rec: ReturnType<typeof recordingRepair>;
  const cleanups: (() => void)[] = [];

  const since = (n: number) => rec.calls.slice(n).map((c) => c.reason).join(' | ');
  const repairedAfter = (n: number, pattern: RegExp) => waitFor(() => pattern.test(since(n)), 10_000, 10);

  beforeAll(async () => {
    bus = await startPlainBus();
    runDir = mkdtempSync(join(tmpdir(), 'natnet-listen-run-'));
    rec = recordingRepair();
    listener = new Listener({
      connect: () => connectBus(bus.address),
      busAddress: bus.address,
      repair: rec.repair,
      runDir,
      log: silentLogger(),
      options: { intervalMs: 0, firewalldZone: 'trusted' },
      timing: { ...FAST, reconnectAttempts: 40 },
    });
    running = listener.run();
  });

  afterAll(async () => {
    for (const c of cleanups) c();
    await listener?.stop();
    await bus?.destroy();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('connects with neither service present and repairs once at start, with autostart', async () => {
    expect(await waitFor(() => rec.calls.length > 0, 10_000)).toBe(true);
    expect(rec.calls[0]).toEqual({ reason: 'listener start', autostart: true });
    await listener.idle();
    const st = readListenerStatus(runDir);
    expect(st?.running).toBe(true);
    expect(st?.bus.connected).toBe(true);
    expect(st?.services).toEqual({ networkManager: false, firewalld: false });
    expect(st?.lastRepair?.actions).toEqual(['natnet: repaired for listener start']);
  });

  it('firewalld appearing: waits for state RUNNING, repairs, puts our bridges in the zone', async () => {
    const n = rec.calls.length;
    const fw = await fakeFirewalld(bus.address, { statesBeforeRunning: 3 });
    cleanups.push(() => fw.svc.stop());
    expect(await repairedAfter(n, /firewalld appeared .*state RUNNING/)).toBe(true);
    await listener.idle();
    expect(fw.svc.calls.filter((c) => c === 'Get(org.fedoraproject.FirewallD1,state)').length).toBeGreaterThanOrEqual(4);
    expect(Object.fromEntries(fw.zones)).toEqual({ virbr10: 'trusted', virbr11: 'trusted' });
    expect(rec.calls.slice(n).every((c) => !c.autostart)).toBe(true);
    await waitFor(() => readListenerStatus(runDir)?.firewalldZone.virbr10 === 'trusted', 5_000);
    expect(readListenerStatus(runDir)?.firewalldZone).toEqual({ virbr10: 'trusted', virbr11: 'trusted' });
    expect(readListenerStatus(runDir)?.services.firewalld).toBe(true);

    // a reload: one repair for a burst, zones re-checked
    fw.zones.delete('virbr10');
    const m = rec.calls.length;
    for (let i = 0; i < 50; i++) fw.reloaded();
    expect(await repairedAfter(m, /firewalld Reloaded/)).toBe(true);
    await listener.idle();
    expect(rec.calls.length - m).toBeGreaterThanOrEqual(1);
    expect(rec.calls.length - m).toBeLessThan(50);
    expect(fw.zones.get('virbr10')).toBe('trusted');
  });

  it('NetworkManager: records whether each bridge is managed; malformed signals are ignored', async () => {
    const nm = await fakeNetworkManager(bus.address, { virbr10: false, virbr11: true });
    cleanups.push(() => nm.svc.stop());
    const n = rec.calls.length;
    expect(await repairedAfter(n, /NetworkManager appeared/)).toBe(true);
    await listener.idle();
    await waitFor(() => readListenerStatus(runDir)?.nmManaged.virbr11 === true, 5_000);
    expect(readListenerStatus(runDir)?.nmManaged).toEqual({ virbr10: false, virbr11: true });

    const m = rec.calls.length;
    nm.svc.signal(NM_PATH, NM_NAME, 'StateChanged', 's', ['bogus']);
    nm.svc.signal(NM_PATH, NM_NAME, 'DeviceAdded', 'u', [7]);
    nm.svc.signal(NM_PATH, NM_NAME, 'DeviceRemoved', '', []);
    nm.svc.signal(NM_PATH, NM_NAME, 'NoSuchSignal', 'a{sv}', [{ x: new dbus.Variant('t', 2n ** 63n) }]);
    // a signal sent straight to the listener's connection bypasses match rules
    const stray = await connectBus(bus.address);
    const target = readListenerStatus(runDir)?.bus.uniqueName;
    expect(target).toMatch(/^:/);
    const raw = dbus.sessionBus({ busAddress: bus.address });
    raw.on('error', () => {});
    await new Promise((r) => raw.once('connect', r));
    const directed = dbus.Message.newSignal('/', 'org.freedesktop.NetworkManager', 'StateChanged', 'ay', [Buffer.from('xx')]);
    directed.destination = target!;
    raw.send(directed);
    raw.send(Object.assign(dbus.Message.newSignal('/', 'org.example.Unknown', 'Whatever', 'x', [5n]), { destination: target! }));
    await new Promise((r) => setTimeout(r, 100));
    await listener.idle();
    expect(rec.calls.length).toBe(m);
    raw.disconnect();
    stray.close();

    nm.stateChanged(70);
    nm.deviceAdded(9);
    expect(await repairedAfter(m, /NetworkManager (state 70|DeviceAdded)/)).toBe(true);
    expect(readListenerStatus(runDir)?.running).toBe(true);
  });

  it('firewalld going away triggers a repair and clears the recorded zones', async () => {
    const n = rec.calls.length;
    cleanups.shift()!(); // stops the fake firewalld
    expect(await repairedAfter(n, /firewalld went away/)).toBe(true);
    await listener.idle();
    await waitFor(() => readListenerStatus(runDir)?.services.firewalld === false, 5_000);
    expect(readListenerStatus(runDir)?.firewalldZone).toEqual({ virbr10: null, virbr11: null });
  });

  it('reconnects after the bus is killed and restarted, then still reacts to a reload', async () => {
    await bus.kill();
    await waitFor(() => readListenerStatus(runDir)?.bus.connected === false, 5_000);
    await bus.restart();
    expect(await waitFor(() => readListenerStatus(runDir)?.bus.reconnects === 1 && readListenerStatus(runDir)?.bus.connected === true, 20_000)).toBe(true);
    const fw = await fakeFirewalld(bus.address);
    cleanups.push(() => fw.svc.stop());
    const n = rec.calls.length;
    expect(await repairedAfter(n, /firewalld appeared/)).toBe(true);
    const m = rec.calls.length;
    fw.reloaded();
    expect(await repairedAfter(m, /firewalld Reloaded/)).toBe(true);
  });

  it('holds exactly its eight match rules after all that (subscribed once per connection, none leaked)', async () => {
    const probe = await connectBus(bus.address);
    try {
      const [stats] = await probe.call({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus.Debug.Stats',
        member: 'GetConnectionStats',
        signature: 's',
        body: [readListenerStatus(runDir)!.bus.uniqueName],
      });
      const s = stats as Record<string, { value: number }>;
      expect({ now: s.MatchRules.value, peak: s.PeakMatchRules.value }).toEqual({ now: 8, peak: 8 });
    } finally {
      probe.close();
    }
  });

  it('stops cleanly: run() resolves and the status file says it is not running', async () => {
    await listener.stop();
    await running;
    const st = readListenerStatus(runDir);
    expect(st?.running).toBe(false);
    expect(st?.stopped).toBeTruthy();
  });
});

describe.skipIf(!req.ok)(`listener when the bus is gone for good${req.reason}`, () => {
  it('repairs on the periodic check with neither service present', async () => {
    const bus = await startPlainBus();
    const runDir = mkdtempSync(join(tmpdir(), 'natnet-listen-run-'));
    try {
      const rec = recordingRepair();
      const listener = new Listener({
        connect: () => connectBus(bus.address),
        busAddress: bus.address,
        repair: rec.repair,
        runDir,
        log: silentLogger(),
        options: { intervalMs: 30, firewalldZone: 'trusted' },
        timing: FAST,
      });
      const running = listener.run();
      expect(await waitFor(() => rec.calls.filter((c) => c.reason === 'periodic check').length >= 3, 10_000)).toBe(true);
      await listener.stop();
      await running;
      expect(readListenerStatus(runDir)?.firewalldZone).toEqual({ virbr10: null, virbr11: null });
    } finally {
      await bus.destroy();
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('gives up after bounded reconnects with one clear error', async () => {
    const bus = await startPlainBus();
    const runDir = mkdtempSync(join(tmpdir(), 'natnet-listen-run-'));
    try {
      const rec = recordingRepair();
      const listener = new Listener({
        connect: () => connectBus(bus.address, 500),
        busAddress: bus.address,
        repair: rec.repair,
        runDir,
        log: silentLogger(),
        options: { intervalMs: 0, firewalldZone: null },
        timing: { ...FAST, reconnectAttempts: 3, reconnectDelayMs: 10 },
      });
      const running = listener.run();
      running.catch(() => {});
      await waitFor(() => readListenerStatus(runDir)?.bus.connected === true, 5_000);
      await bus.kill();
      const err = await running.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NatnetError);
      expect((err as Error).message).toMatch(new RegExp(`^lost the D-Bus connection to ${bus.address} \\(.+\\) and could not reconnect: .*after 3 attempts`));
      expect((err as Error).message).not.toContain('\n');
    } finally {
      await bus.destroy();
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('exits non-zero with one clear error when it cannot connect at all', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'natnet-listen-run-'));
    try {
      const listener = new Listener({
        connect: () => connectBus('unix:path=/nonexistent/natnet-bus', 500),
        busAddress: 'unix:path=/nonexistent/natnet-bus',
        repair: recordingRepair().repair,
        runDir,
        log: silentLogger(),
        options: { intervalMs: 0, firewalldZone: null },
        timing: { ...FAST, reconnectAttempts: 2, reconnectDelayMs: 10 },
      });
      await expect(listener.run()).rejects.toThrow(/^cannot connect to D-Bus at unix:path=\/nonexistent\/natnet-bus: .*after 2 attempts/);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!req.ok)(`listener started while firewalld is still loading${req.reason}`, () => {
  it('repairs again once firewalld reports RUNNING', async () => {
    const bus = await startPlainBus();
    const runDir = mkdtempSync(join(tmpdir(), 'natnet-listen-run-'));
    const fw = await fakeFirewalld(bus.address, { statesBeforeRunning: 5 });
    try {
      const rec = recordingRepair();
      const listener = new Listener({
        connect: () => connectBus(bus.address),
        busAddress: bus.address,
        repair: rec.repair,
        runDir,
        log: silentLogger(),
        options: { intervalMs: 0, firewalldZone: 'trusted' },
        timing: FAST,
      });
      const running = listener.run();
      expect(await waitFor(() => rec.calls.some((c) => c.reason === 'firewalld starting, state RUNNING'), 10_000)).toBe(true);
      await listener.idle();
      expect(fw.zones.get('virbr10')).toBe('trusted');
      await listener.stop();
      await running;
    } finally {
      fw.svc.stop();
      await bus.destroy();
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
