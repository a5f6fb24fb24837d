import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { autostartMarker, networksToRepair } from '../../src/listen/engine-repair.js';
import { resolveListenerOptions } from '../../src/listen/options.js';
import { readListenerStatus, writeListenerStatus, type ListenerStatus } from '../../src/listen/status-file.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/natnet-hook/config.toml';

describe('resolveListenerOptions', () => {
  it('defaults to a 30 s check and the trusted zone', () => {
    expect(resolveListenerOptions({}, FILE)).toEqual({ intervalMs: 30_000, firewalldZone: 'trusted' });
  });

  it('reads [listener] and lets CLI options win', () => {
    expect(resolveListenerOptions({ interval: 5, firewalld_zone: 'libvirt' }, FILE)).toEqual({ intervalMs: 5000, firewalldZone: 'libvirt' });
    expect(resolveListenerOptions({ interval: 5, firewalld_zone: 'libvirt' }, FILE, { interval: '2', firewalldZone: 'none' })).toEqual({
      intervalMs: 2000,
      firewalldZone: null,
    });
    expect(resolveListenerOptions({ interval: 0, firewalld_zone: false }, FILE)).toEqual({ intervalMs: 0, firewalldZone: null });
  });

  it('reports every bad value with file, field, value and what was expected', () => {
    let err: unknown;
    try {
      resolveListenerOptions({ interval: 'soon', firewalld_zone: 'a zone with spaces', colour: 'blue' }, FILE, { interval: '-1' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message.split('\n')).toEqual([
      `${FILE}: listener.colour = "blue": unknown key (known: interval, firewalld_zone)`,
      `${FILE}: listener.interval = "soon": expected seconds between 1 and 86400, or 0 to disable the periodic check`,
      `${FILE}: listener.firewalld_zone = "a zone with spaces": expected a firewalld zone name (letters, digits, _ + -; at most 17), or false/"none" to leave zones alone`,
      `(command line): --interval = "-1": expected seconds between 1 and 86400, or 0 to disable the periodic check`,
    ]);
  });
});

describe('networksToRepair', () => {
  const configured = [
    { name: 'natnet', autostart: true },
    { name: 'lab', autostart: false },
    { name: 'spare', autostart: false },
  ];
  it('repairs applied networks, adds autostart ones only when asked, ignores unconfigured ones', () => {
    expect(networksToRepair(configured, ['lab', 'gone'], false)).toEqual(['lab']);
    expect(networksToRepair(configured, ['lab'], true)).toEqual(['natnet', 'lab']);
    expect(networksToRepair(configured, [], false)).toEqual([]);
  });
});

describe('listener status file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natnet-status-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const status: ListenerStatus = {
    pid: process.pid,
    started: '2026-01-01T00:00:00.000Z',
    updated: '2026-01-01T00:00:01.000Z',
    bus: { address: 'unix:path=/x', connected: true, uniqueName: ':1.4', reconnects: 0 },
    services: { networkManager: true, firewalld: false },
    lastEvent: { time: '2026-01-01T00:00:01.000Z', what: 'firewalld Reloaded' },
    lastRepair: { time: '2026-01-01T00:00:01.000Z', reason: 'firewalld Reloaded', actions: ['natnet: rules'] },
    repairs: 1,
    nmManaged: { virbr10: false },
    firewalldZone: { virbr10: 'trusted' },
    reloadsRequested: 0,
    lastReload: null,
    configError: null,
  };

  it('round-trips and says whether the listener runs', () => {
    expect(readListenerStatus(dir)).toBeNull();
    writeListenerStatus(dir, status);
    expect(readListenerStatus(dir)).toEqual({ ...status, running: true });
    writeListenerStatus(dir, { ...status, stopped: '2026-01-01T00:00:02.000Z' });
    expect(readListenerStatus(dir)?.running).toBe(false);
    writeListenerStatus(dir, { ...status, pid: 2 ** 22 + 1 }); // above pid_max: never alive
    expect(readListenerStatus(dir)?.running).toBe(false);
  });

  it('autostart marker lives in the run dir', () => {
    expect(autostartMarker('/run/natnet-hook')).toBe('/run/natnet-hook/listener-autostart.done');
  });
});

describe('runListen', () => {
  it('refuses a bad [listener] table before touching the bus: ConfigError naming file and field (exit 3)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-listen-cfg-'));
    try {
      const config = join(dir, 'config.toml');
      writeFileSync(config, '[listener]\ninterval = "often"\n');
      const { runListen } = await import('../../src/commands/listen.js');
      const { makeContext } = await import('../../src/engine/context.js');
      const { silentLogger } = await import('../../src/log.js');
      const ctx = makeContext({ config, stateDir: join(dir, 'state'), log: silentLogger() });
      const err = await runListen(ctx, {}).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).exitCode).toBe(3);
      expect((err as Error).message).toBe(
        `${config}: listener.interval = "often": expected seconds between 1 and 86400, or 0 to disable the periodic check`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
