import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderShim } from '../../src/install/render.js';
import { fileStem } from '../../src/state/layout.js';
import { exec, Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

/**
 * Issue 7 "hooks fail safe": natnet-hook's own code, config or state broken, the shim run as
 * libvirt runs it (argv, XML on stdin, scrubbed environment) from a copy of the app that the
 * test breaks. A VM or network whose XML names none of our bridges exits 0 and is logged; only
 * ours may be refused, with one line. Nothing here brings a network up.
 */
const FIX = join(REPO, 'test/fixtures/libvirt');
const fixture = (name: string) => readFileSync(join(FIX, `${name}.xml`), 'utf8');
const ours = fixture('qemu-bridge-prepare'); // on virbr10, the default network's bridge
const notOurs = ours.replaceAll('virbr10', 'br-other');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let dir: string;
let app: string;
let config: string;
let state: string;

beforeEach(() => {
  if (!existsSync(join(REPO, 'dist/fast/hook/main.js'))) throw new Error('run npm run build first');
  dir = mkdtempSync(join(tmpdir(), 'nn-fail-open-'));
  app = join(dir, 'app');
  mkdirSync(join(app, 'dist'), { recursive: true });
  cpSync(join(REPO, 'dist/fast'), join(app, 'dist/fast'), { recursive: true });
  cpSync(join(REPO, 'hooks'), join(app, 'hooks'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'));
  mkdirSync(join(dir, 'etc'));
  config = join(dir, 'etc/config.toml');
  state = join(dir, 'state');
  writeFileSync(config, '');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The source-tree shim (paths from the environment), or an installed one with INSTALL baked. */
async function hook(kind: 'qemu' | 'network', argv: string[], input: string, installed?: { bridges: string[] }) {
  let shim = join(app, 'hooks', kind);
  const env: Record<string, string> = { PATH, LC_ALL: 'C' };
  if (installed) {
    shim = join(dir, `installed-${kind}`);
    const t = readFileSync(join(app, 'hooks', kind), 'utf8');
    writeFileSync(shim, renderShim(t, { node: process.execPath, app, config, stateDir: state, logDir: join(state, 'log'), bridges: installed.bridges }), { mode: 0o755 });
  } else Object.assign(env, { NATNET_HOOK_CONFIG: config, NATNET_HOOK_STATE_DIR: state });
  // env -i: exactly this environment (none of the test runner's); -C /: libvirt's working directory
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await exec(['env', '-i', '-C', '/', ...vars, shim, ...argv], { input, timeoutSeconds: 20 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

const logLines = () =>
  readFileSync(join(state, 'log/hooks.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

function breakCode(how: 'missing' | 'throws' | 'dist removed') {
  if (how === 'dist removed') return rmSync(join(app, 'dist'), { recursive: true });
  for (const f of ['dist/fast/hook/prefilter.cjs', 'dist/fast/hook/main.js']) {
    if (how === 'missing') rmSync(join(app, f));
    else writeFileSync(join(app, f), "throw new Error('broken bundle');\n");
  }
}

describe.each(['missing', 'throws', 'dist removed'] as const)('natnet-hook code: %s (dist/fast/hook/*)', (how) => {
  it('qemu prepare: a VM not on our bridges exits 0 and is logged; ours is refused with one line', async () => {
    breakCode(how);
    expect(await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], notOurs)).toEqual({ code: 0, stdout: '', stderr: '' });
    const r = await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], ours);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^natnet-hook: qemu "lv-vm1" names bridge virbr10, but natnet-hook is broken \(cannot load .*main\.js.*\n$/);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(logLines().map((l) => [l.action, l.exit])).toEqual([
      ['failed open: not on our bridges', 0],
      ['failed open: names our bridge', 1],
    ]);
  });

  it('operations that must not fail exit 0 even for ours', async () => {
    breakCode(how);
    for (const op of ['started', 'stopped', 'release', 'reconnect']) expect((await hook('qemu', ['lv-vm1', op, 'begin', '-'], ours)).code).toBe(0);
    expect((await hook('network', ['lv-net', 'started', 'begin', '-'], fixture('network-started'))).code).toBe(0);
  });

  it('network start/port-created: not ours exits 0, ours is refused', async () => {
    breakCode(how);
    const other = fixture('network-start').replaceAll('virbr10', 'br-other');
    expect((await hook('network', ['lv-net', 'start', 'begin', '-'], other)).code).toBe(0);
    expect((await hook('network', ['lv-net', 'start', 'begin', '-'], fixture('network-start'))).code).toBe(1);
    expect((await hook('network', ['lv-net', 'port-created', 'begin', '-'], fixture('network-port-created').replaceAll('virbr10', 'br-other'))).code).toBe(0);
  });

  it('installed: the bridges baked at install decide, even with the config unreadable', async () => {
    breakCode(how);
    rmSync(config);
    mkdirSync(config); // a directory where the config should be
    const baked = { bridges: ['br-baked'] };
    expect((await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], ours, baked)).code).toBe(0);
    expect((await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], ours.replaceAll('virbr10', 'br-baked'), baked)).code).toBe(1);
    expect(logLines().map((l) => l.exit)).toEqual([0, 1]);
  });
});

describe('broken config or state (the code loads)', () => {
  it('a garbage config: a VM not on the bridges it names exits 0', async () => {
    writeFileSync(config, Buffer.from([0xff, 0xfe, 0x00, 0x5b, 0x5b, 0x0a, 0x80, 0x81]));
    expect(await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], notOurs)).toEqual({ code: 0, stdout: '', stderr: '' });
    writeFileSync(config, '[[network]]\nname = "x"\nbridge = "virbr10"\naddress = "oops\n');
    expect((await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], notOurs)).code).toBe(0);
  });

  it('a FIFO as the config never blocks the hook: a VM not ours exits 0 (code broken or not)', async () => {
    rmSync(config);
    expect((await exec(['mkfifo', config])).code).toBe(0);
    expect(await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], notOurs)).toEqual({ code: 0, stdout: '', stderr: '' });
    breakCode('missing');
    expect(await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], notOurs)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], ours)).code).toBe(1); // the default network's bridge: ours may be refused
  });

  it('a state directory that is a file: a VM not ours exits 0', async () => {
    writeFileSync(state, 'not a directory');
    expect((await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], notOurs)).code).toBe(0);
    expect((await hook('network', ['lv-net', 'start', 'begin', '-'], fixture('network-start').replaceAll('virbr10', 'br-other'))).code).toBe(0);
  });

  it('garbage caches and maps are not trusted: a VM not ours exits 0, nothing printed', async () => {
    await hook('qemu', ['warm', 'prepare', 'begin', '-'], notOurs);
    for (const [f, text] of [
      ['run/hook-networks.json', '{"config":1}'],
      ['lib/libvirt-networks.json', 'null'],
    ]) {
      mkdirSync(join(state, f, '..'), { recursive: true });
      writeFileSync(join(state, f), text);
    }
    expect(await hook('qemu', ['lv-vm1', 'prepare', 'begin', '-'], notOurs)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it.each(['null', '{}', 'garbage', '{"vm":"lv-vm1","nics":[{"mac":"52:54:00:aa:bb:01,id:*","bridge":"virbr10"}],"metadataLeases":[],"running":true,"updated":""}'])(
    'a bad domain record (%s): never refuses its VM; it is set aside and logged',
    async (text) => {
      const domains = join(state, 'lib/domains');
      mkdirSync(domains, { recursive: true });
      const file = join(domains, `${fileStem('lv-vm1')}.json`);
      writeFileSync(file, text);
      writeFileSync(join(domains, `${fileStem('other')}.json`), text);
      // an unrelated VM
      expect((await hook('qemu', ['other', 'prepare', 'begin', '-'], notOurs.replace('<name>lv-vm1</name>', '<name>other</name>'))).code).toBe(0);
      // its own stop and start (exit 0 always): a fresh record, the bad one moved aside
      expect(await hook('qemu', ['lv-vm1', 'stopped', 'end', '-'], fixture('qemu-bridge-stopped'))).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(readdirSync(domains).filter((n) => n.endsWith('.bad'))).toContain(`${fileStem('lv-vm1')}.json.bad`);
      expect(logLines().some((l) => String(l.error).includes('bad record'))).toBe(true);
      expect(await hook('qemu', ['lv-vm1', 'started', 'begin', '-'], fixture('qemu-bridge-started'))).toEqual({ code: 0, stdout: '', stderr: '' });
    },
  );
});

/** The pids of processes whose command line contains `marker`. */
function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

const budgetReq = needs({ root: true, bins: ['ip'] });

describe.skipIf(!budgetReq.ok)(`the hook budget: a hung command${budgetReq.reason}`, () => {
  let lab: Lab;
  let fakes: string;
  beforeAll(async () => {
    lab = await Lab.create();
    lab.writeConfig('');
    // every tool the engine may run first hangs (node scripts: no shell)
    fakes = join(lab.dir, 'hung-tools');
    mkdirSync(fakes);
    for (const tool of ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'iptables-legacy', 'iptables-nft', 'nft', 'sysctl', 'dnsmasq', 'modprobe']) {
      writeFileSync(join(fakes, tool), `#!${process.execPath}\nsetTimeout(() => {}, 120000);\n`);
      chmodSync(join(fakes, tool), 0o755);
    }
  });
  afterAll(async () => {
    for (const pid of pidsWith(fakes)) process.kill(pid, 'SIGKILL');
    await lab?.cleanup();
  });

  it('prepare of our VM gives up after the budget: exit 1, one line naming what it waited for', async () => {
    const env = ['env', '-i', `PATH=${fakes}:${PATH}`, `NATNET_HOOK_CONFIG=${lab.configPath}`, `NATNET_HOOK_STATE_DIR=${lab.stateDir}`, 'NATNET_HOOK_BUDGET=2'];
    const t0 = Date.now();
    const r = await exec(['ip', 'netns', 'exec', lab.router, ...env, process.execPath, join(REPO, 'hooks/qemu'), 'lv-vm1', 'prepare', 'begin', '-'], { input: ours });
    expect(Date.now() - t0).toBeLessThan(15_000); // a hang would take the fakes' 120 s
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^natnet-hook: qemu hook prepare "lv-vm1": gave up after 2 s waiting for the host lock or a command bringing up natnet\n$/);
    // the runner (execa, cleanup) kills what the hook started when the budget ends it
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(pidsWith(fakes)).toEqual([]);
  });
});
