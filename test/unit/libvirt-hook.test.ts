import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeContext } from '../../src/engine/context.js';
import type { Context } from '../../src/engine/context.js';
import type { DownOptions, NetworkChange, UpOptions } from '../../src/engine/index.js';
import { ConfigError } from '../../src/errors.js';
import { runHook } from '../../src/hook/main.js';
import type { HookEngine } from '../../src/hook/outcome.js';
import { hookPaths } from '../../src/hook/paths.js';
import { domainRecordFile, prefilter } from '../../src/hook/prefilter.js';
import { computeFingerprint, fingerprintFile } from '../../src/hook/prepare-fingerprint.js';
import { silentLogger } from '../../src/log.js';
import { fileStem } from '../../src/state/layout.js';
const domainFileName = (vm: string) => `${fileStem(vm)}.json`;
import type { DomainRecord } from '../../src/model/types.js';

const FIX = join(import.meta.dirname, '../fixtures/libvirt');
const fixture = (name: string) => readFileSync(join(FIX, `${name}.xml`), 'utf8');

/** Records every engine call; never touches the system. */
class FakeEngine implements HookEngine {
  calls: { fn: 'up' | 'down'; opts: UpOptions & DownOptions }[] = [];
  fail: Error | null = null;
  failOnce = false;
  /** Runs inside up, as if after the engine loaded the config. */
  during: ((ctx: Context) => void) | null = null;
  async up(ctx: Context, opts: UpOptions): Promise<NetworkChange[]> {
    this.calls.push({ fn: 'up', opts });
    this.during?.(ctx);
    if (this.fail) {
      const e = this.fail;
      if (this.failOnce) this.fail = null;
      throw e;
    }
    return (opts.networks ?? []).map((network) => ({ network, actions: ['reservations: write hosts'] }));
  }
  async down(_ctx: Context, opts: DownOptions): Promise<NetworkChange[]> {
    this.calls.push({ fn: 'down', opts });
    return (opts.networks ?? []).map((network) => ({ network, actions: ['removed'] }));
  }
}

let dir: string;
let engine: FakeEngine;
let errors: string[];

const CONFIG = `
[[network]]
name = "natnet"
bridge = "virbr10"
address = "192.168.100.1/24"

[[network]]
name = "lab"
bridge = "br-lab"
address = "10.77.0.1/24"
mac = "52:54:00:00:77:01"
down_when_idle = true
`;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nn-hook-unit-'));
  writeFileSync(join(dir, 'config.toml'), CONFIG);
  engine = new FakeEngine();
  errors = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const opts = (stdin: string) => ({
  config: join(dir, 'config.toml'),
  stateDir: join(dir, 'state'),
  stdin,
  engine,
  env: {},
  writeError: (l: string) => errors.push(l),
});
const qemu = (argv: string[], xml: string) => runHook('qemu', argv, opts(xml));
const network = (argv: string[], xml: string) => runHook('network', argv, opts(xml));
const record = (vm: string): DomainRecord => JSON.parse(readFileSync(join(dir, 'state/lib/domains', domainFileName(vm)), 'utf8'));
const logLines = () =>
  readFileSync(join(dir, 'state/log/hooks.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const onBridge = (xml: string, bridge: string) => xml.replaceAll("bridge='virbr10'", `bridge='${bridge}'`);

describe('qemu hook', () => {
  it('a VM not on our bridges: exit 0, engine untouched, one log record', async () => {
    expect(await qemu(['lv-vm1', 'prepare', 'begin', '-'], onBridge(fixture('qemu-bridge-prepare'), 'br0'))).toBe(0);
    expect(engine.calls).toEqual([]);
    expect(logLines()).toMatchObject([{ hook: 'qemu', event: 'lv-vm1 prepare begin -', vm: 'lv-vm1', action: 'ignored (not on our bridges)', exit: 0 }]);
  });

  it('prepare: brings up the VM’s networks with its record (NICs on our bridges only, metadata leases)', async () => {
    expect(await qemu(['web "multi" ü', 'prepare', 'begin', '-'], fixture('qemu-multi-prepare'))).toBe(0);
    expect(engine.calls).toHaveLength(1);
    const { opts: o } = engine.calls[0];
    expect(o.networks).toEqual(['natnet']);
    expect(o.reason).toContain('prepare');
    expect(o.domain).toMatchObject({
      vm: 'web "multi" ü',
      uuid: '741db5d4-9149-4294-885e-108c0a1df6d6',
      nics: [
        { mac: '52:54:00:aa:bb:11', bridge: 'virbr10' },
        { mac: '52:54:00:aa:bb:12', bridge: 'virbr10' },
      ],
      metadataLeases: [
        { mac: '52:54:00:aa:bb:11', ip: '192.168.100.21', hostname: 'web1' },
        { mac: '52:54:00:aa:bb:12', ip: '192.168.100.22', hostname: 'web2' },
      ],
      running: true,
    });
    expect(errors).toEqual([]);
    expect(logLines()[0]).toMatchObject({ action: 'up', networks: ['natnet'], changes: ['natnet: reservations: write hosts'], exit: 0 });
  });

  it('prepare failing for our VM: exit 1 and exactly one stderr line with every problem', async () => {
    engine.fail = new ConfigError([
      { file: '/etc/natnet-hook/leases.d/lv-vm1.toml', field: 'ip', value: '192.168.100.9', expected: 'already reserved for VM "b"' },
      { file: '/etc/natnet-hook/config.toml', field: 'network[0].mac', value: 'x', expected: 'a MAC' },
    ]);
    expect(await qemu(['lv-vm1', 'prepare', 'begin', '-'], fixture('qemu-bridge-prepare'))).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^natnet-hook: VM "lv-vm1" not started: .*leases\.d\/lv-vm1\.toml: ip = "192\.168\.100\.9": already reserved.*; .*network\[0\]\.mac.*\n$/);
    expect(errors[0].split('\n')).toHaveLength(2);
    expect(logLines()[0]).toMatchObject({ result: 'error', exit: 1, action: 'refused' });
  });

  it('prepare with a broken natnet metadata element: refused, engine not called', async () => {
    const xml = fixture('qemu-network-prepare').replace('ip="192.168.100.31" ', '').replace("source network='lv-net'", "source bridge='virbr10'");
    expect(await qemu(['netvm', 'prepare', 'begin', '-'], xml)).toBe(1);
    expect(engine.calls).toEqual([]);
    expect(errors[0]).toContain('<metadata> natnet lease is invalid: lease.ip: missing');
  });

  it('malformed input or unknown operations: exit 0 and logged', async () => {
    expect(await qemu(['x', 'prepare', 'begin', '-'], '<domain><devices><interface><source bridge="virbr10"/></interface>')).toBe(0);
    expect(await qemu(['lv-vm1', 'frobnicate', 'begin', '-'], fixture('qemu-bridge-prepare'))).toBe(0);
    expect(engine.calls).toEqual([]);
    expect(logLines().map((l) => l.action)).toEqual(['ignored (malformed input)', 'ignored (operation "frobnicate")']);
  });

  it('start/started record the taps; stopped/release keep the MACs and mark the VM stopped', async () => {
    await qemu(['lv-vm1', 'prepare', 'begin', '-'], fixture('qemu-bridge-prepare'));
    expect(await qemu(['lv-vm1', 'started', 'begin', '-'], fixture('qemu-bridge-started'))).toBe(0);
    expect(record('lv-vm1')).toMatchObject({ running: true, nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10', tap: 'vnet0' }] });
    expect(await qemu(['lv-vm1', 'stopped', 'end', '-'], fixture('qemu-bridge-stopped'))).toBe(0);
    expect(await qemu(['lv-vm1', 'release', 'end', '-'], fixture('qemu-bridge-release'))).toBe(0);
    expect(record('lv-vm1')).toMatchObject({ running: false, nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10' }] });
    expect(record('lv-vm1').nics[0].tap).toBeUndefined();
    expect(engine.calls.map((c) => c.fn)).toEqual(['up']); // natnet keeps running: down_when_idle is off
  });

  it('release of the last VM on a down_when_idle network takes it down, not while another runs', async () => {
    const lab = (xml: string, mac: string) => onBridge(xml, 'br-lab').replaceAll('52:54:00:aa:bb:01', mac);
    // the fake engine does not record domains: do what it would
    for (const [vm, mac] of [
      ['lv-vm1', '52:54:00:aa:bb:01'],
      ['vm2', '52:54:00:aa:bb:02'],
    ]) {
      const xml = lab(fixture('qemu-bridge-started'), mac).replace('<name>lv-vm1</name>', `<name>${vm}</name>`);
      await qemu([vm, 'started', 'begin', '-'], xml);
    }
    await qemu(['lv-vm1', 'release', 'end', '-'], lab(fixture('qemu-bridge-release'), '52:54:00:aa:bb:01'));
    expect(engine.calls.filter((c) => c.fn === 'down')).toEqual([]);
    const vm2 = lab(fixture('qemu-bridge-release'), '52:54:00:aa:bb:02').replace('<name>lv-vm1</name>', '<name>vm2</name>');
    await qemu(['vm2', 'release', 'end', '-'], vm2);
    expect(engine.calls.filter((c) => c.fn === 'down').map((c) => c.opts.networks)).toEqual([['lab']]);
    // the read above is only a pre-filter: the engine re-checks idleness under its lock
    expect(engine.calls.filter((c) => c.fn === 'down').map((c) => c.opts.onlyIfIdle)).toEqual([true]);
  });

  it('an unwritable engine log never fails a VM start (full disk; log dir not creatable)', async () => {
    engine.during = (ctx) => {
      ctx.log.info({ x: 1 }, 'engine says something');
      ctx.log.error('and something else');
    };
    mkdirSync(join(dir, 'state/log'), { recursive: true });
    symlinkSync('/dev/full', join(dir, 'state/log/engine.log')); // every write fails with ENOSPC
    expect(await qemu(['lv-vm1', 'prepare', 'begin', '-'], fixture('qemu-bridge-prepare'))).toBe(0);
    expect(errors).toEqual([]);
    expect(logLines()[0]).toMatchObject({ action: 'up', exit: 0 });
    rmSync(join(dir, 'state/log'), { recursive: true });
    writeFileSync(join(dir, 'state/log'), ''); // a file where the log directory should be
    expect(await qemu(['lv-vm1', 'prepare', 'begin', '-'], fixture('qemu-bridge-prepare'))).toBe(0);
    expect(errors).toEqual([]);
    expect(engine.calls.map((c) => c.fn)).toEqual(['up', 'up']);
  });

  it('a config edit while up runs is never recorded in the prepare fingerprint as applied', async () => {
    const fp = { runDir: join(dir, 'state/run'), libDir: join(dir, 'state/lib'), configPath: join(dir, 'config.toml'), leasesDir: join(dir, 'leases.d') };
    const stored = () => JSON.parse(readFileSync(fingerprintFile(fp.runDir, 'lv-vm1'), 'utf8'));
    const xml = fixture('qemu-bridge-prepare');
    await qemu(['lv-vm1', 'prepare', 'begin', '-'], xml);
    expect(stored()).toEqual(computeFingerprint(fp, xml, ['natnet']));
    engine.during = () => {
      writeFileSync(join(dir, 'config.toml'), `${CONFIG}\n# edited after the engine loaded it\n`);
      mkdirSync(fp.leasesDir, { recursive: true });
      writeFileSync(join(fp.leasesDir, 'lv-vm1.toml'), 'vm = "lv-vm1"\nip = "192.168.100.9"\n');
    };
    await qemu(['lv-vm1', 'prepare', 'begin', '-'], xml);
    const now = computeFingerprint(fp, xml, ['natnet']);
    expect(stored().config).not.toBe(now.config);
    expect(stored().leases).not.toBe(now.leases);
  });

  it('reconnect never fails: retries without the VM record, then gives up with exit 0', async () => {
    engine.fail = new Error('lease conflicts now');
    engine.failOnce = true;
    expect(await qemu(['web "multi" ü', 'reconnect', 'begin', '-'], fixture('qemu-multi-reconnect'))).toBe(0);
    expect(engine.calls.map((c) => Boolean(c.opts.domain))).toEqual([true, false]);
    engine.fail = new Error('bridge cannot be created');
    engine.failOnce = false;
    expect(await qemu(['web "multi" ü', 'reconnect', 'begin', '-'], fixture('qemu-multi-reconnect'))).toBe(0);
    expect(errors).toEqual([]);
    expect(logLines().map((l) => [l.action, l.exit])).toEqual([
      ['up (VM record not updated)', 0],
      ['up failed', 0],
    ]);
  });

  it('migrate/restore: nothing on stdout (it would become the domain XML), exit 0', async () => {
    const write = vi.spyOn(process.stdout, 'write');
    try {
      for (const op of ['migrate', 'restore']) expect(await qemu(['lv-vm1', op, 'begin', '-'], fixture('qemu-bridge-prepare'))).toBe(0);
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
    expect(engine.calls).toEqual([]);
  });

  it('an internal error outside prepare never fails the operation', async () => {
    mkdirSync(join(dir, 'state/lib'), { recursive: true });
    writeFileSync(join(dir, 'state/lib/domains'), 'not a directory'); // the record cannot be written
    expect(await qemu(['lv-vm1', 'started', 'begin', '-'], fixture('qemu-bridge-started'))).toBe(0);
    expect(logLines()[0]).toMatchObject({ action: 'recorded taps failed', exit: 0, result: 'error' });
  });
});

describe('network hook', () => {
  it('start of a libvirt network wrapping our bridge brings ours up and remembers the mapping', async () => {
    expect(await network(['lv-net', 'start', 'begin', '-'], fixture('network-start'))).toBe(0);
    expect(engine.calls).toMatchObject([{ fn: 'up', opts: { networks: ['natnet'] } }]);
    expect(JSON.parse(readFileSync(join(dir, 'state/lib/libvirt-networks.json'), 'utf8'))).toEqual({ 'lv-net': 'virbr10' });
    // ...so the qemu hook's prepare, which names only the network, knows the VM is ours
    expect(await qemu(['netvm', 'prepare', 'begin', '-'], fixture('qemu-network-prepare'))).toBe(0);
    expect(engine.calls[1].opts.domain).toMatchObject({ vm: 'netvm', nics: [{ mac: '52:54:00:aa:bb:31', bridge: 'virbr10' }] });
  });

  it('port-created records the VM’s MAC on the bridge and applies its reservation; failure refuses the VM', async () => {
    expect(await network(['lv-net', 'port-created', 'begin', '-'], fixture('network-port-created'))).toBe(0);
    expect(engine.calls[0].opts).toMatchObject({ networks: ['natnet'], domain: { vm: 'netvm', nics: [{ mac: '52:54:00:aa:bb:31', bridge: 'virbr10' }] } });
    engine.fail = new Error('192.168.100.31 is reserved for VM "other"');
    expect(await network(['lv-net', 'port-created', 'begin', '-'], fixture('network-port-created'))).toBe(1);
    expect(errors).toEqual(['natnet-hook: VM "netvm" not started: 192.168.100.31 is reserved for VM "other"\n']);
  });

  it('a network on another bridge, and the events with nothing to do, exit 0', async () => {
    expect(await network(['lv-net', 'start', 'begin', '-'], onBridge(fixture('network-start').replace("name='virbr10'", "name='br0'"), 'br0'))).toBe(0);
    for (const op of ['started', 'port-deleted', 'stopped', 'updated']) {
      expect(await network(['lv-net', op, 'begin', '-'], fixture(`network-${op === 'updated' ? 'started' : op}`))).toBe(0);
    }
    expect(engine.calls).toEqual([]);
  });
});

describe('hook paths and the bridge cache', () => {
  it('resolve exactly like makeContext (the hook avoids importing it)', () => {
    for (const o of [{}, { config: '/x/c.toml', stateDir: '/s' }, { stateDir: 'rel' }]) {
      for (const env of [{}, { NATNET_HOOK_CONFIG: '/e/c.toml', NATNET_HOOK_STATE_DIR: '/es' }]) {
        const p = hookPaths(o, env);
        const ctx = makeContext({ ...o, env, log: silentLogger() });
        expect([p.configPath, p.runDir, p.libDir]).toEqual([ctx.configPath, ctx.runDir, ctx.libDir]);
      }
    }
  });

  it('the fast path finds domain records where the engine writes them, for any VM name', () => {
    for (const vm of ['a', 'web "multi" ü', '../x', 'a.b', `${'n'.repeat(220)} %2E`]) {
      expect(domainRecordFile('/l', vm)).toBe(join('/l/domains', domainFileName(vm)));
    }
  });

  it('the CommonJS fast path decides "not ours" from the cached bridge list alone, else hands over', async () => {
    const o = { config: join(dir, 'config.toml'), stateDir: join(dir, 'state') };
    const foreign = onBridge(fixture('qemu-bridge-prepare'), 'br0');
    expect(await prefilter('qemu', ['lv-vm1', 'prepare', 'begin', '-'], o, {}, foreign)).toEqual({ done: false, stdin: foreign });
    await qemu(['lv-vm1', 'prepare', 'begin', '-'], foreign); // the full path writes the cache
    expect(await prefilter('qemu', ['lv-vm1', 'prepare', 'begin', '-'], o, {}, foreign)).toEqual({ done: true, exit: 0 });
    expect(logLines().map((l) => l.action)).toEqual(['ignored (not on our bridges)', 'ignored (not on our bridges)']);
    const ours = fixture('qemu-bridge-prepare');
    expect(await prefilter('qemu', ['lv-vm1', 'prepare', 'begin', '-'], o, {}, ours)).toEqual({ done: false, stdin: ours });
    expect((await prefilter('network', ['lv-net', 'start', 'begin', '-'], o, {}, fixture('network-start'))).done).toBe(false);
    expect(engine.calls).toEqual([]);
  });

  it('is refreshed when the config changes', async () => {
    const xml = onBridge(fixture('qemu-bridge-prepare'), 'br-new');
    await qemu(['lv-vm1', 'prepare', 'begin', '-'], xml);
    expect(existsSync(join(dir, 'state/run/hook-networks.json'))).toBe(true);
    expect(engine.calls).toEqual([]);
    writeFileSync(join(dir, 'config.toml'), `${CONFIG}\n[[network]]\nname = "new"\nbridge = "br-new"\naddress = "10.9.0.1/24"\nmac = "52:54:00:00:09:01"\n`);
    await qemu(['lv-vm1', 'prepare', 'begin', '-'], xml);
    expect(engine.calls.map((c) => c.opts.networks)).toEqual([['new']]);
  });

  it('a config that does not parse still routes VMs on the bridges it names to the engine (which refuses them)', async () => {
    writeFileSync(join(dir, 'config.toml'), '[[network]]\nname = "natnet"\nbridge = "virbr10"\naddress = "oops\n');
    await qemu(['lv-vm1', 'prepare', 'begin', '-'], fixture('qemu-bridge-prepare'));
    expect(engine.calls).toHaveLength(1);
    expect(existsSync(join(dir, 'state/run/hook-networks.json'))).toBe(false);
  });
});

describe('fast record updates (start/started/stopped/release of a recorded VM)', () => {
  it('taps by MAC from the started XML, running flag; a down_when_idle network still goes to the engine', async () => {
    const { applyDomainEvent } = await import('../../src/hook/domain-record.js');
    const { scanDomain } = await import('../../src/libvirt/scan.js');
    const interfaces = scanDomain(fixture('qemu-multi-started')).interfaces;
    expect(interfaces.map((i) => [i.mac, i.tap])).toEqual([
      ['52:54:00:aa:bb:11', 'vnet3'],
      ['52:54:00:aa:bb:13', 'vnet4'],
      ['52:54:00:aa:bb:12', 'vnet5'],
    ]);
    const rec: DomainRecord = {
      vm: 'web',
      nics: [
        { mac: '52:54:00:aa:bb:11', bridge: 'virbr10' },
        { mac: '52:54:00:aa:bb:12', bridge: 'virbr10', tap: 'vnet0' },
      ],
      metadataLeases: [{ ip: '192.168.100.21' }],
      running: false,
      updated: '',
    };
    const now = new Date('2026-01-01T00:00:00Z');
    const up = applyDomainEvent(rec, { kind: 'running', interfaces }, now);
    expect(up.nics.map((n) => n.tap)).toEqual(['vnet3', 'vnet5']);
    expect([up.running, up.metadataLeases, up.updated]).toEqual([true, rec.metadataLeases, now.toISOString()]);
    expect(applyDomainEvent(up, { kind: 'stopped' }, now).nics).toEqual(rec.nics.map(({ tap: _t, ...n }) => n));

    // through the hook: the engine wrote the record at prepare (the fake does not: write it here)
    mkdirSync(join(dir, 'state/lib/domains'), { recursive: true });
    writeFileSync(join(dir, 'state/lib/domains', domainFileName('lv-vm1')), JSON.stringify({ ...rec, vm: 'lv-vm1', nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'br-lab' }] }));
    await qemu(['lv-vm1', 'started', 'begin', '-'], fixture('qemu-bridge-started'));
    expect(record('lv-vm1')).toMatchObject({ running: true, nics: [{ mac: '52:54:00:aa:bb:01', tap: 'vnet0' }] });
    await qemu(['lv-vm1', 'stopped', 'end', '-'], fixture('qemu-bridge-stopped'));
    await qemu(['lv-vm1', 'release', 'end', '-'], fixture('qemu-bridge-release'));
    expect(record('lv-vm1')).toMatchObject({ running: false, nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'br-lab' }] });
    expect(logLines().map((l) => l.action)).toEqual(['recorded taps', 'recorded stop', 'recorded stop']);
    expect(engine.calls.map((c) => [c.fn, c.opts.networks])).toEqual([['down', ['lab']]]);
  });
});

describe('the hook budget', () => {
  it('a prepare that cannot finish gives up with one line naming what it waited for, exit 1; other operations exit 0', async () => {
    const hanging: HookEngine = { up: () => new Promise(() => {}), down: () => new Promise(() => {}) };
    const exits: number[] = [];
    const run = (argv: string[], xml: string) =>
      new Promise<void>((resolve) => {
        void runHook('qemu', argv, { ...opts(xml), engine: hanging, budgetMs: 200, exit: (c) => { exits.push(c); resolve(); } });
      });
    await run(['lv-vm1', 'prepare', 'begin', '-'], fixture('qemu-bridge-prepare'));
    expect(exits).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^natnet-hook: qemu hook prepare "lv-vm1": gave up after 0\.2 s waiting for the host lock or a command bringing up natnet\n$/);
    await run(['web "multi" ü', 'reconnect', 'begin', '-'], fixture('qemu-multi-reconnect'));
    expect(exits).toEqual([1, 0]);
    expect(errors).toHaveLength(1);
    expect(logLines().map((l) => [l.action, l.exit])).toEqual([
      ['out of time', 1],
      ['out of time', 0],
    ]);
  });
});
