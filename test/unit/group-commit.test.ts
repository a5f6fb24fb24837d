import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from '../../src/engine/context.js';
import type { DownOptions, NetworkChange, UpOptions } from '../../src/engine/index.js';
import { ConfigError } from '../../src/errors.js';
import { parseResult, type PrepareRequest, requesterPid, submitRequest, takeResult } from '../../src/hook/group-commit.js';
import { parseRequest } from '../../src/hook/group-commit-leader.js';
import { runHook } from '../../src/hook/main.js';
import type { HookEngine } from '../../src/hook/outcome.js';
import { layoutOf, preparePendingDir, prepareResultFile, prepareResultsDir } from '../../src/state/layout.js';

const FIXTURE = readFileSync(join(import.meta.dirname, '../fixtures/libvirt/qemu-bridge-prepare.xml'), 'utf8').replace(/\s*<uuid>[^<]*<\/uuid>/, '');
const xmlOf = (vm: string, mac: string, metadata = '') => FIXTURE.replace('<name>lv-vm1</name>', `<name>${vm}</name>${metadata}`).replace('52:54:00:aa:bb:01', mac);
const DEAD = 4_194_305;

/** Records engine calls; fails a group (several domains) with `groupFails`, and any run naming `badVm`. */
class FakeEngine implements HookEngine {
  calls: UpOptions[] = [];
  groupFails: Error | null = null;
  badVm = '';
  async up(_ctx: Context, opts: UpOptions): Promise<NetworkChange[]> {
    this.calls.push(opts);
    if (opts.domains && this.groupFails) throw this.groupFails;
    if ([opts.domain, ...(opts.domains ?? [])].some((d) => d?.vm === this.badVm)) throw new ConfigError([{ file: 'x', field: 'lease', expected: `no conflict for ${this.badVm}` }]);
    return (opts.networks ?? []).map((network) => ({ network, actions: ['reservations: write hosts'] }));
  }
  async down(_ctx: Context, _opts: DownOptions): Promise<NetworkChange[]> {
    return [];
  }
}

let dir: string;
let engine: FakeEngine;
let errors: string[];
const layout = () => layoutOf({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state') });
const hook = (vm: string, xml: string) =>
  runHook('qemu', [vm, 'prepare', 'begin', '-'], { config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), stdin: xml, engine, env: {}, writeError: (l) => errors.push(l) });

/** A request as a waiting prepare of this process would leave it (its requester is alive). */
function pending(vm: string, mac: string, pid = process.pid, metadata = ''): PrepareRequest {
  const req = { id: `${pid}-${vm.length.toString(36)}-${vm.replace(/[^a-z0-9]/g, '')}`, pid, vm, xml: xmlOf(vm, mac, metadata), networks: ['natnet'] };
  submitRequest(layout(), req);
  return req;
}
const resultOf = (req: PrepareRequest) => JSON.parse(readFileSync(prepareResultFile(layout(), req.id), 'utf8'));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nn-group-'));
  writeFileSync(join(dir, 'config.toml'), '[[network]]\nname = "natnet"\nbridge = "virbr10"\naddress = "192.168.100.1/24"\n');
  engine = new FakeEngine();
  errors = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('group commit of prepares', () => {
  it('the prepare that gets the lock applies every pending VM with ONE engine run and answers each', async () => {
    const a = pending('vm-a', '52:54:00:00:00:0a');
    const b = pending('vm-b', '52:54:00:00:00:0b');
    expect(await hook('lead', xmlOf('lead', '52:54:00:00:00:01'))).toBe(0);
    expect(engine.calls).toHaveLength(1);
    expect(engine.calls[0].networks).toEqual(['natnet']);
    expect(engine.calls[0].domains?.map((d) => d.vm).sort()).toEqual(['lead', 'vm-a', 'vm-b']);
    for (const r of [a, b]) expect(resultOf(r)).toMatchObject({ id: r.id, exit: 0, action: 'up', networks: ['natnet'], applied: true, leader: process.pid, group: 3 });
    expect(readdirSync(preparePendingDir(layout()))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a config error of the group: each VM alone, so only the bad one is refused (with its one line)', async () => {
    engine.groupFails = new ConfigError([{ file: 'x', field: 'lease', expected: 'conflict somewhere' }]);
    engine.badVm = 'vm-bad';
    const bad = pending('vm-bad', '52:54:00:00:00:0b');
    const good = pending('vm-good', '52:54:00:00:00:0c');
    expect(await hook('lead', xmlOf('lead', '52:54:00:00:00:01'))).toBe(0);
    expect(engine.calls.map((c) => (c.domains ? 'group' : c.domain?.vm)).sort()).toEqual(['group', 'lead', 'vm-bad', 'vm-good']);
    expect(resultOf(good)).toMatchObject({ exit: 0, applied: true });
    expect(resultOf(bad)).toMatchObject({ exit: 1, applied: false, error: 'VM "vm-bad" not started: x: lease: no conflict for vm-bad' });
  });

  it('a failure that is not the config (a command, the host) is everyone’s: no per-VM repeats', async () => {
    engine.groupFails = new Error('iptables-restore: timed out');
    const other = pending('vm-x', '52:54:00:00:00:0d');
    expect(await hook('lead', xmlOf('lead', '52:54:00:00:00:01'))).toBe(1);
    expect(engine.calls).toHaveLength(1);
    expect(errors).toEqual(['natnet-hook: VM "lead" not started: iptables-restore: timed out\n']);
    expect(resultOf(other)).toMatchObject({ exit: 1, error: 'VM "vm-x" not started: iptables-restore: timed out' });
  });

  it('the same VM twice in one group (a manual run beside libvirt’s) is applied one run at a time', async () => {
    const twin = pending('lead', '52:54:00:00:00:02');
    expect(await hook('lead', xmlOf('lead', '52:54:00:00:00:01'))).toBe(0);
    expect(engine.calls.map((c) => c.domain?.vm)).toEqual(['lead', 'lead']);
    expect(resultOf(twin)).toMatchObject({ exit: 0, applied: true });
  });

  it('invalid input in the group is refused before the engine, alone', async () => {
    const bad = pending('vm-meta', '52:54:00:00:00:0e', process.pid, '<metadata><n:lease xmlns:n="https://natnet-hook.dev/xmlns/1" ip="1.2.3.999"/></metadata>');
    expect(await hook('lead', xmlOf('lead', '52:54:00:00:00:01'))).toBe(0);
    expect(engine.calls.map((c) => c.domain?.vm)).toEqual(['lead']);
    expect(resultOf(bad)).toMatchObject({ exit: 1, action: 'refused', error: expect.stringMatching(/^VM "vm-meta": its <metadata> natnet lease is invalid: /) });
  });

  it('requests of dead prepares are dropped; tampered ones set aside and answered; stray names left alone', async () => {
    const dead = pending('vm-dead', '52:54:00:00:00:0f', DEAD);
    const l = layout();
    const tampered = `${process.pid}-1-tampered`;
    writeFileSync(join(preparePendingDir(l), `${tampered}.json`), JSON.stringify({ id: tampered, pid: process.pid, vm: 'x', xml: '<domain/>', networks: ['../../etc'] }));
    writeFileSync(join(preparePendingDir(l), 'not-a-request.json'), '{}');
    mkdirSync(prepareResultsDir(l), { recursive: true });
    writeFileSync(prepareResultFile(l, `${DEAD}-1-old`), '{}');
    expect(await hook('lead', xmlOf('lead', '52:54:00:00:00:01'))).toBe(0);
    expect(engine.calls.map((c) => c.domain?.vm)).toEqual(['lead']);
    expect(existsSync(prepareResultFile(l, dead.id))).toBe(false);
    expect(readdirSync(preparePendingDir(l)).sort()).toEqual([`${tampered}.json.bad`, 'not-a-request.json']);
    expect(resultOf({ id: tampered } as PrepareRequest)).toMatchObject({ exit: 1, error: expect.stringContaining('not a valid prepare request') });
    expect(existsSync(prepareResultFile(l, `${DEAD}-1-old`))).toBe(false); // nobody will read it any more
  });
});

describe('what the group commit reads back is validated', () => {
  const ok = { id: '12-a-b', vm: 'v', exit: 0, action: 'up', networks: ['natnet'], applied: true, leader: 9, group: 2 };
  it('results', () => {
    expect(parseResult(JSON.stringify(ok), '12-a-b', ['natnet'])).toEqual(ok);
    for (const bad of [
      { ...ok, id: '13-a-b' },
      { ...ok, exit: 2 },
      { ...ok, networks: ['../../etc/passwd'] },
      { ...ok, action: 'up\nforged line' },
      { ...ok, exit: 1 }, // a refusal without its line
      { ...ok, applied: 'yes' },
    ]) {
      expect(parseResult(JSON.stringify(bad), '12-a-b', ['natnet'])).toBeNull();
    }
    expect(parseResult('garbage', '12-a-b', ['natnet'])).toBeNull();
  });

  it('an unreadable result refuses the VM with one line naming the file', () => {
    const l = { ...layout() };
    mkdirSync(prepareResultsDir(l), { recursive: true });
    const req = { id: `${process.pid}-x-y`, pid: process.pid, vm: 'v', xml: '', networks: [] };
    writeFileSync(prepareResultFile(l, req.id), 'null');
    const r = takeResult(l, req, ['natnet'])!;
    expect(r.exit).toBe(1);
    expect(r.error).toMatch(/^VM "v" not started: .*prepare-results\/.*: not a valid answer/);
    expect(takeResult(l, req, ['natnet'])).toBeNull(); // consumed
  });

  it('requests and ids', () => {
    const req = { id: '12-a-b', pid: 12, vm: 'v', xml: '<domain/>', networks: ['natnet'] };
    expect(parseRequest(JSON.stringify(req), '12-a-b', ['natnet'])).toEqual(req);
    expect(parseRequest(JSON.stringify({ ...req, pid: 13 }), '12-a-b', ['natnet'])).toBeNull();
    expect(parseRequest(JSON.stringify({ ...req, vm: '' }), '12-a-b', ['natnet'])).toBeNull();
    expect(parseRequest(JSON.stringify({ ...req, xml: 1 }), '12-a-b', ['natnet'])).toBeNull();
    expect(requesterPid('12-a-b')).toBe(12);
    for (const id of ['../12-a-b', '0-a-b', '12-a', '12-A-b', '']) expect(requesterPid(id)).toBeNull();
  });
});
