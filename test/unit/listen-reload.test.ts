import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { desiredNetworks } from '../../src/engine/index.js';
import { NatnetError } from '../../src/errors.js';
import { changedFields, networksToRepair, repairSource } from '../../src/listen/engine-repair.js';
import { isListenerFor, stateDirArg } from '../../src/listen/identity.js';
import { Listener, type RepairFn, type RepairResult, reloadOutcome } from '../../src/listen/listener.js';
import { type ListenerStatus, listenerStatus, listenerStatusPath, readListenerStatus } from '../../src/listen/status-file.js';
import { silentLogger } from '../../src/log.js';
import type { Network } from '../../src/model/types.js';
import { listenerReloadLines } from '../../src/render/status-text.js';
import { SchemaError } from '../../src/state/schema.js';
import { networkToml } from '../helpers/lab-config.js';
import { waitFor } from '../helpers/private-bus.js';

function network(o: Parameters<typeof networkToml>[0] & { autostart?: boolean }): Network {
  const toml = networkToml({ ...o, extra: o.autostart ? ['autostart = true'] : [] });
  return parseMainConfig(toml, new Problems('/etc/natnet-hook/config.toml')).networks[0];
}

describe('the desired Network: the applied record or the config', () => {
  const applied = network({ firewall: 'iptables' });
  const edited = network({ firewall: 'nftables' });
  const other = network({ name: 'lab', bridge: 'virbr11', address: '192.168.101.1/24', dhcpRange: '192.168.101.100-192.168.101.200', autostart: true });
  const gone = network({ name: 'old', bridge: 'virbr12', address: '192.168.102.1/24', dhcpRange: '192.168.102.100-192.168.102.200' });

  it("'config' (up, reload): the config's networks as they are", () => {
    expect(desiredNetworks([edited, other], [{ network: applied }])).toEqual([edited, other]);
    expect(desiredNetworks([edited, other], [{ network: applied }], 'config')).toEqual([edited, other]);
  });

  it("'applied' (the listener's repairs): a network with a record as last applied, the rest from the config, then unconfigured applied ones", () => {
    expect(desiredNetworks([edited, other], [{ network: applied }, { network: gone }], 'applied')).toEqual([applied, other, gone]);
    expect(desiredNetworks([edited], [], 'applied')).toEqual([edited]);
  });

  it('the listener adopts the config only when asked and the config is valid', () => {
    expect(repairSource(true, true)).toBe('config');
    expect(repairSource(true, false)).toBe('applied');
    expect(repairSource(false, true)).toBe('applied');
    expect(repairSource(false, false)).toBe('applied');
  });

  it('repairs applied networks, and autostart ones (as configured when never applied) at boot', () => {
    const desired = desiredNetworks([edited, other], [{ network: applied }], 'applied');
    expect(networksToRepair(desired, ['natnet'], false)).toEqual(['natnet']);
    expect(networksToRepair(desired, ['natnet'], true)).toEqual(['natnet', 'lab']);
  });
});

describe('is this pid our listener for this state dir (from /proc, untrusted status file)', () => {
  const argv = (...a: string[]) => ['/usr/bin/node', '/opt/natnet-hook/bin/natnet-hook', ...a];

  it('reads --state-dir in both forms, the last one winning', () => {
    expect(stateDirArg(['--state-dir', '/a', 'listen'])).toBe('/a');
    expect(stateDirArg(['--state-dir=/a', '--state-dir', '/b'])).toBe('/b');
    expect(stateDirArg(['listen'])).toBeUndefined();
  });

  it('matches our listener for this run dir only', () => {
    expect(isListenerFor(argv('--config', '/c', '--state-dir', '/s', 'listen'), {}, '/', '/s/run')).toBe(true);
    expect(isListenerFor(argv('--state-dir', 's', 'listen'), {}, '/tmp', '/tmp/s/run')).toBe(true);
    expect(isListenerFor(argv('listen'), {}, '/', '/run/natnet-hook')).toBe(true);
    expect(isListenerFor(argv('listen'), { NATNET_HOOK_STATE_DIR: '/s' }, '/', '/s/run')).toBe(true);
    expect(isListenerFor(['/usr/bin/natnet-hook', 'listen'], {}, '/', '/run/natnet-hook')).toBe(true);
    // another state dir, another command, another program
    expect(isListenerFor(argv('--state-dir', '/other', 'listen'), {}, '/', '/s/run')).toBe(false);
    expect(isListenerFor(argv('listen'), {}, '/', '/s/run')).toBe(false);
    expect(isListenerFor(argv('--state-dir', '/s', 'status'), {}, '/', '/s/run')).toBe(false);
    expect(isListenerFor(['/usr/sbin/sshd', '-D'], {}, '/', '/run/natnet-hook')).toBe(false);
    expect(isListenerFor(['/bin/sleep', 'natnet-hook', 'listen'], {}, '/', '/run/natnet-hook')).toBe(false);
    expect(isListenerFor([], {}, '/', '/run/natnet-hook')).toBe(false);
  });
});

describe('listener status file: reload fields', () => {
  const base: ListenerStatus = {
    pid: 42,
    started: 't0',
    updated: 't1',
    bus: { address: 'unix:path=/x', connected: true, uniqueName: null, reconnects: 0 },
    services: { networkManager: false, firewalld: false },
    lastEvent: null,
    lastRepair: null,
    repairs: 0,
    nmManaged: {},
    firewalldZone: {},
    reloadsRequested: 2,
    lastReload: { covers: 2, time: 't2', ok: false, actions: [], error: 'config.toml: x: expected y' },
    configError: { at: 't2', message: 'config.toml: x: expected y', reload: true },
  };

  it('round-trips the reload fields', () => {
    expect(listenerStatus(JSON.parse(JSON.stringify(base)))).toEqual(base);
  });

  it('a status file of a listener older than reload reads as no reload yet', () => {
    const { reloadsRequested: _a, lastReload: _b, configError: _c, ...old } = base;
    expect(listenerStatus(old)).toEqual({ ...old, reloadsRequested: 0, lastReload: null, configError: null });
  });

  it.each([
    [{ reloadsRequested: -1 }, '.reloadsRequested'],
    [{ reloadsRequested: '3' }, '.reloadsRequested'],
    [{ lastReload: { covers: 1.5, time: 't', ok: true, actions: [] } }, '.lastReload.covers'],
    [{ lastReload: { covers: 1, time: 't', ok: 'yes', actions: [] } }, '.lastReload.ok'],
    [{ lastReload: { covers: 1, time: 't', ok: true, actions: [1] } }, '.lastReload.actions[0]'],
    [{ lastReload: [] }, '.lastReload'],
    [{ configError: { at: 't', message: 7, reload: true } }, '.configError.message'],
    [{ configError: { at: 't', message: 'm' } }, '.configError.reload'],
  ])('refuses %j (at %s)', (patch, at) => {
    let err: unknown;
    try {
      listenerStatus({ ...base, ...patch });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchemaError);
    expect((err as SchemaError).at).toBe(at);
  });

  it('status renders a rejected config as a problem, control characters escaped', () => {
    const lines = listenerReloadLines({ ...base, running: true, configError: { at: 't2', message: 'a: bad\nb: \u001b[31mred', reload: true } });
    expect(lines[0]).toBe('  last reload: t2 REFUSED');
    expect(lines[1]).toMatch(/^ {2}PROBLEM: the config was invalid at t2 \(reload\): none of it applied.*natnet-hook reload\)$/);
    expect(lines.slice(2)).toEqual(['    - a: bad', '    - b: \\u001b[31mred']);
    expect(listenerReloadLines({ ...base, running: false })).toEqual(['  last reload: t2 REFUSED']);
  });
});

describe('reloadOutcome', () => {
  const r = (o: Partial<RepairResult>): RepairResult => ({ actions: [], bridges: [], ...o });
  it('ok only when adopted with a valid config', () => {
    expect(reloadOutcome(3, 't', r({ adopted: true, actions: ['natnet: x'] }))).toEqual({ covers: 3, time: 't', ok: true, actions: ['natnet: x'] });
    expect(reloadOutcome(3, 't', r({ adopted: false, configProblems: ['p1', 'p2'] }))).toEqual({ covers: 3, time: 't', ok: false, actions: [], error: 'p1\np2' });
    expect(reloadOutcome(1, 't', r({}))).toMatchObject({ ok: false, error: 'the config was not adopted' });
  });
});

describe('Listener.reload (SIGHUP): coalesced, answered in the status file', () => {
  let dir = '';
  let listener: Listener | null = null;
  afterEach(async () => {
    await listener?.stop();
    listener = null;
    rmSync(dir, { recursive: true, force: true });
  });

  function make(repair: RepairFn): Listener {
    dir = mkdtempSync(join(tmpdir(), 'natnet-reload-'));
    listener = new Listener({
      // never connects: reloads and repairs do not need the bus
      connect: () => new Promise(() => {}),
      busAddress: 'unix:path=/nonexistent',
      repair,
      runDir: dir,
      log: silentLogger(),
      options: { intervalMs: 0, firewalldZone: null },
      timing: { quietMs: 30, maxWaitMs: 200, statusWriteMs: 10 },
    });
    return listener;
  }

  it('counts the signal at once, coalesces a burst into one adopting run that answers all of them', async () => {
    const calls: Parameters<RepairFn>[0][] = [];
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const l = make(async (req) => {
      calls.push(req);
      await gate;
      return { actions: ['natnet: firewall nftables'], bridges: ['virbr10'], configProblems: null, adopted: true };
    });
    l.reload();
    expect(readListenerStatus(dir)?.reloadsRequested).toBe(1);
    l.reload();
    l.reload();
    release();
    await l.idle();
    expect(calls).toEqual([{ reason: 'reload', autostart: true, adopt: true }]);
    const st = readListenerStatus(dir)!;
    expect(st.reloadsRequested).toBe(3);
    expect(st.lastReload).toMatchObject({ covers: 3, ok: true, actions: ['natnet: firewall nftables'] });
    expect(st.configError).toBeNull();
  });

  it('an invalid config: the reload is refused and reported until a reload succeeds; a repair alone does not clear it', async () => {
    let problems: string[] | null = ['config.toml: [[network]][0].address: expected a.b.c.d/prefix'];
    const l = make(async (req) => ({ actions: [], bridges: [], configProblems: problems, adopted: !!req.adopt && problems === null }));
    l.reload();
    await l.idle();
    let st = readListenerStatus(dir)!;
    expect(st.lastReload).toMatchObject({ covers: 1, ok: false, error: problems[0] });
    expect(st.configError).toMatchObject({ message: problems[0], reload: true });
    // the file is fixed, but not yet reloaded: the periodic check leaves the report
    problems = null;
    (l as unknown as { request(r: string, f: boolean, n: boolean): void }).request('periodic check', false, false);
    await l.idle();
    expect(readListenerStatus(dir)!.configError).not.toBeNull();
    l.reload();
    await l.idle();
    st = readListenerStatus(dir)!;
    expect(st.lastReload).toMatchObject({ covers: 2, ok: true });
    expect(st.configError).toBeNull();
  });

  it('a config found invalid by a repair alone is reported, and cleared once it validates again', async () => {
    let problems: string[] | null = ['config.toml: x: expected y'];
    const l = make(async () => ({ actions: [], bridges: [], configProblems: problems, adopted: false }));
    const periodic = () => (l as unknown as { request(r: string, f: boolean, n: boolean): void }).request('periodic check', false, false);
    periodic();
    await l.idle();
    expect(readListenerStatus(dir)!.configError).toMatchObject({ reload: false });
    problems = null;
    periodic();
    await l.idle();
    expect(readListenerStatus(dir)!.configError).toBeNull();
  });

  it('a failed repair answers the reload with its error', async () => {
    const l = make(async () => {
      throw new NatnetError('no valid config was loaded since the listener started');
    });
    l.reload();
    await waitFor(() => readListenerStatus(dir)?.lastReload !== null, 5_000, 10);
    await l.idle();
    expect(readListenerStatus(dir)!.lastReload).toMatchObject({ covers: 1, ok: false, error: 'no valid config was loaded since the listener started' });
  });

  it('a garbage status file reads as no listener', () => {
    dir = mkdtempSync(join(tmpdir(), 'natnet-reload-'));
    writeFileSync(listenerStatusPath(dir), '{"pid": "1; kill"}');
    expect(readListenerStatus(dir)).toBeNull();
  });
});

describe('changedFields: what adopting a config changes, for the log', () => {
  it('names each differing field of the network', () => {
    const a = network({ firewall: 'iptables' });
    expect(changedFields(a, a)).toEqual([]);
    expect(changedFields(a, network({ firewall: 'nftables', dhcpRange: '192.168.100.100-192.168.100.200' }))).toEqual([
      'natnet.firewall: "iptables" -> "nftables"',
      'natnet.dhcpStart: "192.168.100.128" -> "192.168.100.100"',
      'natnet.dhcpEnd: "192.168.100.254" -> "192.168.100.200"',
    ]);
  });
});
