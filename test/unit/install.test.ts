import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { APP_DIR, runInstall } from '../../src/commands/install.js';
import { runUninstall } from '../../src/commands/uninstall.js';
import { makeContext } from '../../src/engine/context.js';
import { NatnetError } from '../../src/errors.js';
import { unmanagedInterfaces } from '../../src/install/plan.js';
import { MAY_FAIL } from '../../src/hook/may-fail.js';
import { renderHookShim, renderNmDropIn, renderShim } from '../../src/install/render.js';
import { silentLogger } from '../../src/log.js';
import type { RunOptions, Runner } from '../../src/sys/runner.js';
import { VERSION } from '../../src/version.js';

let root: string;
let out: string[];
const print = (l: string) => out.push(l);

/** Every path below dir (files and dirs), relative, sorted. */
function tree(dir: string): string[] {
  const acc: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      acc.push(relative(dir, p));
      if (lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return acc.sort();
}

function writeManifestJson(m: unknown) {
  mkdirSync(join(root, 'var/lib/natnet-hook'), { recursive: true });
  writeFileSync(join(root, 'var/lib/natnet-hook/install.json'), JSON.stringify(m));
}

const ctx = (o: { config?: string; stateDir?: string } = {}) =>
  makeContext({ config: o.config ?? join(root, 'etc/natnet-hook/config.toml'), stateDir: o.stateDir ?? join(root, 'state'), log: silentLogger(), env: {} });
const node = '/usr/bin/node';
const install = (o: Parameters<typeof runInstall>[1] = {}, c = ctx()) => runInstall(c, { root, print, node, ...o });
const uninstall = (o: Parameters<typeof runUninstall>[1] = {}, c = ctx()) => runUninstall(c, { root, print, ...o });
const hookFile = (kind: string) => join(root, `etc/libvirt/hooks/${kind}.d/natnet-hook`);

beforeAll(() => {
  // the installed hooks import dist/hook/main.js
  if (!existsSync(join(APP_DIR, 'dist/fast/hook/main.js'))) execFileSync('npm', ['run', 'build'], { cwd: APP_DIR });
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nn-install-'));
  out = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('natnet-hook install --root', () => {
  it('writes the hooks (0755, node by absolute path, config/state baked), config, NM drop-in, modprobe, sysctl', async () => {
    await install();
    const q = readFileSync(hookFile('qemu'), 'utf8');
    expect(q.split('\n')[0]).toBe(`#!${node}`);
    // the hooks run the installed copy through `current`, as seen on the target system: never the checkout
    expect(q).toContain(
      `const INSTALL = ${JSON.stringify({ app: '/usr/lib/natnet-hook/current', config: join(root, 'etc/natnet-hook/config.toml'), stateDir: join(root, 'state'), logDir: join(root, 'state/log'), bridges: ['virbr10'] })};`,
    );
    for (const k of ['qemu', 'network']) expect(statSync(hookFile(k)).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, 'etc/natnet-hook/config.toml'), 'utf8')).toBe(readFileSync(join(APP_DIR, 'install/config.toml'), 'utf8'));
    for (const [p, src] of [
      ['etc/NetworkManager/conf.d/natnet-hook.conf', 'install/NetworkManager/conf.d/natnet-hook.conf'],
      ['etc/modules-load.d/natnet-hook.conf', 'install/modules-load.d/natnet-hook.conf'],
      ['etc/modprobe.d/natnet-hook.conf', 'install/modprobe.d/natnet-hook.conf'],
      ['etc/sysctl.d/60-natnet-hook.conf', 'install/sysctl.d/60-natnet-hook.conf'],
    ]) {
      expect(readFileSync(join(root, p), 'utf8'), p).toBe(readFileSync(join(APP_DIR, src), 'utf8'));
      expect(statSync(join(root, p)).mode & 0o777).toBe(0o644);
    }
    const unit = readFileSync(join(root, 'etc/systemd/system/natnet-hook-listen.service'), 'utf8');
    expect(unit).toMatch(new RegExp(`^ExecStart=${node} /usr/lib/natnet-hook/current/bin/natnet-hook --config \\S+ --state-dir \\S+ listen$`, 'm'));
    expect(out.some((l) => l.includes('SIGHUP'))).toBe(false); // never signals host daemons for another root
  });

  it('copies the runtime to usr/lib/natnet-hook/<version>, switches current, links usr/sbin; the manifest is relative to the root', async () => {
    await install();
    const dir = join(root, 'usr/lib/natnet-hook', VERSION);
    for (const f of ['package.json', 'bin/natnet-hook', 'dist/fast/cli.cjs', 'dist/fast/hook/prefilter.cjs', 'dist/fast/dbus-next.cjs', 'hooks/qemu', 'install/config.toml']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect(existsSync(join(dir, 'src'))).toBe(false);
    expect(readFileSync(join(dir, 'bin/natnet-hook'), 'utf8').split('\n')[0]).toBe(`#!${node}`);
    expect(readlinkSync(join(root, 'usr/lib/natnet-hook/current'))).toBe(VERSION);
    expect(readlinkSync(join(root, 'usr/sbin/natnet-hook'))).toBe('../lib/natnet-hook/current/bin/natnet-hook');
    expect(execFileSync(join(root, 'usr/sbin/natnet-hook'), ['--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
    const m = JSON.parse(readFileSync(join(root, 'var/lib/natnet-hook/install.json'), 'utf8'));
    for (const p of [...m.files.map((f: { path: string }) => f.path), ...m.dirs, ...m.links.map((l: { path: string }) => l.path)]) expect(p, p).not.toMatch(/^\//);
    expect(m.runtimes).toEqual([VERSION]);
    expect(m.dirs).not.toContain('');
    await uninstall();
    expect(existsSync(join(root, 'usr'))).toBe(false);
  });

  it('the installed hook runs from the copied runtime under libvirt’s scrubbed environment, logs to the baked state dir, prints nothing', async () => {
    await install();
    // the shim names /usr/lib/natnet-hook/current as the target sees it: point a copy at this root's
    const shim = join(root, 'qemu-shim');
    writeFileSync(shim, readFileSync(hookFile('qemu'), 'utf8').replace('"app":"/usr/lib/natnet-hook/current"', `"app":${JSON.stringify(join(root, 'usr/lib/natnet-hook/current'))}`), { mode: 0o755 });
    const xml = readFileSync(join(APP_DIR, 'test/fixtures/libvirt/qemu-bridge-prepare.xml'), 'utf8').replaceAll('virbr10', 'br-not-ours');
    const r = spawnSync(shim, ['lv-vm1', 'prepare', 'begin', '-'], {
      input: xml,
      env: { LC_ALL: 'C', HOME: '/root', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      cwd: '/',
      encoding: 'utf8',
    });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '', '']);
    const rec = JSON.parse(readFileSync(join(root, 'state/log/hooks.log'), 'utf8'));
    expect(rec).toMatchObject({ hook: 'qemu', vm: 'lv-vm1', action: 'ignored (not on our bridges)', exit: 0 });
  });

  it('never overwrites a foreign hook (nothing written then) nor the main qemu/network scripts', async () => {
    mkdirSync(join(root, 'etc/libvirt/hooks/qemu.d'), { recursive: true });
    writeFileSync(join(root, 'etc/libvirt/hooks/qemu'), '#!/bin/sh\n# the admin’s own hook\n', { mode: 0o755 });
    writeFileSync(hookFile('qemu'), '#!/bin/sh\necho mine\n', { mode: 0o755 });
    const before = tree(root);
    await expect(install()).rejects.toThrow(NatnetError);
    await expect(install()).rejects.toThrow(/qemu\.d\/natnet-hook: exists and is not natnet-hook's/);
    expect(tree(root)).toEqual(before);
    rmSync(hookFile('qemu'));
    await install();
    expect(readFileSync(join(root, 'etc/libvirt/hooks/qemu'), 'utf8')).toBe('#!/bin/sh\n# the admin’s own hook\n');
  });

  it('never overwrites an existing config; uninstall keeps it, --purge removes it', async () => {
    mkdirSync(join(root, 'etc/natnet-hook'), { recursive: true });
    writeFileSync(join(root, 'etc/natnet-hook/config.toml'), '[[network]]\nname = "x"\nbridge = "br-x"\naddress = "10.1.0.1/24"\nmac = "52:54:00:00:01:01"\ndummy = false\n');
    await install();
    expect(readFileSync(join(root, 'etc/natnet-hook/config.toml'), 'utf8')).toContain('br-x');
    // the NetworkManager drop-in follows the config's bridges
    expect(readFileSync(join(root, 'etc/NetworkManager/conf.d/natnet-hook.conf'), 'utf8')).toContain('unmanaged-devices+=interface-name:br-x\n');
    await uninstall();
    expect(existsSync(join(root, 'etc/natnet-hook/config.toml'))).toBe(true);
    await install();
    await uninstall({ purge: true });
    expect(existsSync(join(root, 'etc/natnet-hook/config.toml'))).toBe(false);
  });

  it('is idempotent, and uninstall leaves exactly the tree it found', async () => {
    mkdirSync(join(root, 'etc/libvirt/hooks'), { recursive: true });
    writeFileSync(join(root, 'etc/libvirt/hooks/network'), '#!/bin/sh\n', { mode: 0o755 });
    const before = tree(root);
    await install();
    out = [];
    await install();
    expect(out.filter((l) => l.startsWith('installed'))).toEqual([]);
    await uninstall({ purge: true });
    expect(tree(root)).toEqual(before);
  });

  it('uninstall keeps a file the admin changed since install, and says so', async () => {
    await install();
    writeFileSync(join(root, 'etc/sysctl.d/60-natnet-hook.conf'), 'net.ipv4.ip_forward = 1\n# mine\n');
    await uninstall();
    expect(existsSync(join(root, 'etc/sysctl.d/60-natnet-hook.conf'))).toBe(true);
    expect(out.some((l) => l.includes('60-natnet-hook.conf (changed since install)'))).toBe(true);
    expect(existsSync(hookFile('qemu'))).toBe(false);
  });

  it('uninstall stops and disables the listener service before removing its unit (through the runner, never failing)', async () => {
    await install();
    const seen: string[][] = [];
    for (const [code, stderr, expected] of [
      [0, '', ['stopped and disabled natnet-hook-listen.service']],
      [1, 'Failed to disable unit: Access denied\n', ['warning: systemctl disable --now natnet-hook-listen.service failed (exit 1): Failed to disable unit: Access denied']],
      [127, 'spawn systemctl ENOENT', []],
    ] as const) {
      const runner: Runner = {
        dryRun: false,
        planned: [],
        async run(argv: string[], o: RunOptions = {}) {
          seen.push(argv);
          expect(o.allowFailure).toBe(true);
          return { argv, code, stdout: '', stderr, ms: 0 };
        },
      };
      const c = makeContext({ config: join(root, 'etc/natnet-hook/config.toml'), stateDir: join(root, 'state'), log: silentLogger(), env: {}, runner });
      out = [];
      seen.length = 0;
      await uninstall({ stopListener: true }, c);
      expect(out.filter((l) => l.includes('natnet-hook-listen.service') && !l.startsWith('removed'))).toEqual(expected);
      expect(seen[0]).toEqual(['systemctl', 'disable', '--now', 'natnet-hook-listen.service']);
      expect(seen.slice(1)).toEqual(code === 127 ? [] : [['systemctl', 'daemon-reload']]);
      expect(existsSync(join(root, 'etc/systemd/system/natnet-hook-listen.service'))).toBe(false);
      await install();
    }
    // under --root (packaging, tests) nothing is stopped by default
    out = [];
    await uninstall();
    expect(out.some((l) => l.includes('disable'))).toBe(false);
  });

  it('uninstall without an install says so and changes nothing', async () => {
    await uninstall();
    expect(out).toEqual([`natnet-hook is not installed under ${root} (no ${join(root, 'var/lib/natnet-hook/install.json')})`]);
    expect(tree(root)).toEqual([]);
  });

  it('--dry-run writes nothing', async () => {
    await runInstall(makeContext({ config: join(root, 'c.toml'), stateDir: join(root, 's'), dryRun: true, log: silentLogger(), env: {} }), { root, print, node });
    expect(tree(root)).toEqual([]);
    expect(out.filter((l) => l.startsWith('would '))).toHaveLength(out.length - 1);
  });
});

describe('install: re-install, upgrade, and what uninstall may remove', () => {
  it('re-install says unchanged for untouched files, kept (edited by admin) for edited ones, kept (your config) for the config', async () => {
    await install();
    writeFileSync(join(root, 'etc/sysctl.d/60-natnet-hook.conf'), 'net.ipv4.ip_forward = 1\n# mine\n');
    writeFileSync(join(root, 'etc/natnet-hook/config.toml'), '# my config\n');
    out = [];
    await install();
    expect(out).toContain(`unchanged ${hookFile('qemu')}`);
    expect(out).toContain(`unchanged ${join(root, 'usr/lib/natnet-hook', VERSION)}`);
    expect(out).toContain(`kept (edited by admin) ${join(root, 'etc/sysctl.d/60-natnet-hook.conf')}`);
    expect(out).toContain(`kept (your config) ${join(root, 'etc/natnet-hook/config.toml')}`);
    expect(out.filter((l) => /^(installed|updated|switched)/.test(l))).toEqual([]);
  });

  it('an upgrade switches current, keeps the previous version one back and removes older ones install copied', async () => {
    await install();
    const lib = join(root, 'usr/lib/natnet-hook');
    for (const v of ['0.0.8', '0.0.9']) mkdirSync(join(lib, v, 'bin'), { recursive: true });
    mkdirSync(join(lib, '0.0.7')); // not recorded: someone else's
    symlinkSync('0.0.9', join(lib, 'current.new'));
    execFileSync('mv', ['-T', join(lib, 'current.new'), join(lib, 'current')]);
    const m = JSON.parse(readFileSync(join(root, 'var/lib/natnet-hook/install.json'), 'utf8'));
    writeManifestJson({ ...m, runtimes: ['0.0.8', '0.0.9'] });
    rmSync(join(lib, VERSION), { recursive: true });
    out = [];
    await install();
    expect(readlinkSync(join(lib, 'current'))).toBe(VERSION);
    expect(out).toContain(`switched ${join(lib, 'current')} -> ${VERSION} (was 0.0.9)`);
    expect(readdirSync(lib).sort()).toEqual(['0.0.7', '0.0.9', VERSION, 'current'].sort());
    await uninstall();
    expect(readdirSync(lib)).toEqual(['0.0.7']);
  });

  it('a rebuilt runtime of the same version is updated (current names a whole dir all along); a foreign version dir is refused', async () => {
    await install();
    const dir = join(root, 'usr/lib/natnet-hook', VERSION);
    writeFileSync(join(dir, 'dist/fast/cli.cjs'), 'stale');
    out = [];
    await install();
    expect(out).toContain(`updated ${dir} (from ${APP_DIR.replace(/\/+$/, '')})`);
    expect(readFileSync(join(dir, 'dist/fast/cli.cjs'), 'utf8')).toBe(readFileSync(join(APP_DIR, 'dist/fast/cli.cjs'), 'utf8'));
    expect(readlinkSync(join(root, 'usr/lib/natnet-hook/current'))).toBe(VERSION);
    expect(readdirSync(join(root, 'usr/lib/natnet-hook')).sort()).toEqual([VERSION, 'current'].sort());
    // a version dir install did not make (a package's) that differs: refused before any file is written
    await uninstall();
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'bin/natnet-hook'), 'a package’s');
    const before = tree(root);
    await expect(install()).rejects.toThrow(/was not put there by natnet-hook install/);
    expect(tree(root)).toEqual(before);
  });

  it('uninstall never removes the root itself, also when install created it', async () => {
    const inner = join(root, 'pkg');
    await runInstall(ctx(), { root: inner, print, node });
    await runUninstall(ctx(), { root: inner, print, purge: true });
    expect(existsSync(inner)).toBe(true);
    expect(readdirSync(inner)).toEqual([]);
  });

  it('a forged manifest names nothing outside the root: absolute or .. paths are refused, a symlinked dir out of the root is not followed', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'nn-outside-'));
    try {
      writeFileSync(join(outside, 'precious'), 'x');
      mkdirSync(join(outside, '1.0.0'));
      const base = { version: 2, files: [], links: [], runtimes: [], dirs: [], config: '/etc/natnet-hook/config.toml', stateDir: null };
      for (const bad of [
        { ...base, files: [{ path: join(outside, 'precious'), kind: 'system', sha256: 'a'.repeat(64) }] },
        { ...base, files: [{ path: '../precious', kind: 'system', sha256: 'a'.repeat(64) }] },
        { ...base, dirs: [''] },
        { ...base, dirs: ['.'] },
        { ...base, links: [{ path: '/usr/sbin/natnet-hook', target: 'x' }] },
        { ...base, runtimes: ['../../..'] },
        { ...base, runtimes: ['current'] },
      ]) {
        writeManifestJson(bad);
        await expect(uninstall(), JSON.stringify(bad)).rejects.toThrow(/install\.json: .*not trusted to name files to remove/);
      }
      // valid paths, but etc and usr/lib/natnet-hook lead out of the root through symlinks
      symlinkSync(outside, join(root, 'etc'));
      mkdirSync(join(root, 'usr/lib'), { recursive: true });
      symlinkSync(outside, join(root, 'usr/lib/natnet-hook'));
      const { sha256 } = await import('../../src/install/manifest.js');
      writeManifestJson({ ...base, files: [{ path: 'etc/precious', kind: 'system', sha256: sha256('x') }], runtimes: ['1.0.0'], dirs: ['etc', 'usr/lib/natnet-hook'] });
      await uninstall({ purge: true });
      expect(readdirSync(outside).sort()).toEqual(['1.0.0', 'precious']);
      expect(out.some((l) => l.includes('leads out of'))).toBe(true);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('--purge never deletes a --config outside the root that install never wrote', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'nn-config-'));
    try {
      const config = join(outside, 'config.toml');
      writeFileSync(config, '# the admin’s\n');
      mkdirSync(join(outside, 'leases.d'));
      await install({}, ctx({ config }));
      expect(existsSync(join(root, 'etc/natnet-hook/config.toml'))).toBe(false);
      await uninstall({ purge: true }, ctx({ config }));
      expect(readdirSync(outside).sort()).toEqual(['config.toml', 'leases.d']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reads a version 1 manifest (absolute paths with the root prefix) as paths relative to the root', async () => {
    await install();
    const m = JSON.parse(readFileSync(join(root, 'var/lib/natnet-hook/install.json'), 'utf8'));
    writeManifestJson({ version: 1, files: m.files.map((f: { path: string }) => ({ ...f, path: join(root, f.path) })), dirs: m.dirs.map((d: string) => join(root, d)), config: m.config, stateDir: m.stateDir });
    await uninstall();
    expect(existsSync(hookFile('qemu'))).toBe(false);
  });

  it('--package lays out only what a package ships: the runtime, current, the sbin link and the unit in usr/lib/systemd/system', async () => {
    const defaults = makeContext({ log: silentLogger(), env: {} });
    await install({ package: true }, defaults);
    expect(tree(root).filter((p) => !p.startsWith(`usr/lib/natnet-hook/${VERSION}/`))).toEqual(
      [
        'usr',
        'usr/lib',
        'usr/lib/natnet-hook',
        'usr/lib/natnet-hook/current',
        `usr/lib/natnet-hook/${VERSION}`,
        'usr/lib/systemd',
        'usr/lib/systemd/system',
        'usr/lib/systemd/system/natnet-hook-listen.service',
        'usr/sbin',
        'usr/sbin/natnet-hook',
      ].sort(),
    );
    expect(readFileSync(join(root, 'usr/lib/systemd/system/natnet-hook-listen.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/node \/usr\/lib\/natnet-hook\/current\/bin\/natnet-hook listen$/m);
    await expect(runInstall(ctx(), { root: '/', print, node, package: true })).rejects.toThrow(/--package .* --root/);
  });
});

describe('install renderers', () => {
  it('the default NetworkManager drop-in is install/NetworkManager/conf.d/natnet-hook.conf (golden)', () => {
    expect(renderNmDropIn(unmanagedInterfaces('/nonexistent/config.toml'))).toBe(
      readFileSync(join(APP_DIR, 'install/NetworkManager/conf.d/natnet-hook.conf'), 'utf8'),
    );
  });

  it('refuses a node path the #! line cannot carry', () => {
    const t = readFileSync(join(APP_DIR, 'hooks/qemu'), 'utf8');
    const v = { app: '/a', config: null, stateDir: null, logDir: '/var/log/natnet-hook', bridges: [] };
    expect(() => renderShim(t, { ...v, node: '/opt/my node/bin/node' })).toThrow(/without spaces/);
    expect(() => renderShim(t, { ...v, node: 'node' })).toThrow(/absolute/);
  });

  it('bakes nothing for the default paths', () => {
    const t = readFileSync(join(APP_DIR, 'hooks/network'), 'utf8');
    const s = renderShim(t, { node: '/usr/bin/node', app: '/opt/natnet-hook', config: null, stateDir: null, logDir: '/var/log/natnet-hook', bridges: ['virbr10'] });
    expect(s.split('\n')[0]).toBe('#!/usr/bin/node');
    expect(s).toContain('const INSTALL = {"app":"/opt/natnet-hook","config":null,"stateDir":null,"logDir":"/var/log/natnet-hook","bridges":["virbr10"]};');
  });

  it('hooks/qemu and hooks/network are hooks/shim.template rendered with the one may-fail list (npm run build)', () => {
    const t = readFileSync(join(APP_DIR, 'hooks/shim.template'), 'utf8');
    for (const kind of ['qemu', 'network'] as const) {
      const shim = renderHookShim(t, kind);
      expect(readFileSync(join(APP_DIR, `hooks/${kind}`), 'utf8'), `hooks/${kind}: run npm run build`).toBe(shim);
      expect(shim).toContain(`const MAY_FAIL = ${JSON.stringify(MAY_FAIL[kind]).replaceAll('"', "'").replaceAll(',', ', ')};`);
      expect(shim).not.toMatch(/@[A-Z_]+@/);
    }
  });
});

describe('npm package', () => {
  it("package.json's files are the runtime install copies; prepack builds; nothing is needed from node_modules at run time", async () => {
    const { RUNTIME_ENTRIES } = await import('../../src/install/runtime.js');
    const pkg = JSON.parse(readFileSync(join(APP_DIR, 'package.json'), 'utf8'));
    expect(pkg.files.map((f: string) => f.replace(/\/$/, ''))).toEqual(RUNTIME_ENTRIES.filter((e) => e !== 'package.json'));
    expect(pkg.scripts.prepack).toMatch(/npm run build/);
    expect(pkg.scripts.deb).toBe('scripts/build-deb.sh');
    // dist/fast bundles them all: an install from the tarball fetches nothing
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});

describe('node for the hooks and the unit', () => {
  const fake = (stdout: string, code = 0): Runner => ({
    dryRun: false,
    planned: [],
    async run(argv: string[]) {
      return { argv, code, stdout, stderr: '', ms: 0 };
    },
  });

  it('/usr/bin/node when it is >= 20, else the running node (and says why)', async () => {
    const { chooseNode, nodeMajor } = await import('../../src/install/node-path.js');
    expect([nodeMajor('v20.11.1\n'), nodeMajor('v18.0.0'), nodeMajor('x')]).toEqual([20, 18, null]);
    // as when install runs from a node of nvm's
    const nvm = '/root/.nvm/versions/node/v22.1.0/bin/node';
    expect(await chooseNode(fake('v22.1.0\n'), undefined, nvm)).toEqual({ node: '/usr/bin/node', line: 'node: /usr/bin/node (v22.1.0)' });
    expect((await chooseNode(fake('v18.19.0\n'), undefined, nvm)).node).toBe(nvm);
    expect((await chooseNode(fake('v18.19.0\n'), undefined, nvm)).line).toContain('/usr/bin/node is v18.19.0, older than 20');
    expect((await chooseNode(fake('', 127), undefined, nvm)).line).toContain('/usr/bin/node is missing');
    expect((await chooseNode(fake('never asked'), undefined, '/usr/bin/node')).node).toBe('/usr/bin/node');
    expect(await chooseNode(fake('v18.0.0'), '/opt/node/bin/node')).toEqual({ node: '/opt/node/bin/node', line: 'node: /opt/node/bin/node (--node)' });
  });
});

describe('libvirt version gate', () => {
  it('qemu.d/ and network.d/ need libvirt >= 6.5', async () => {
    const { parseLibvirtVersion, supportsHookDirs } = await import('../../src/install/libvirt-version.js');
    expect(parseLibvirtVersion('libvirtd (libvirt) 9.0.0\n')).toEqual([9, 0, 0]);
    expect(parseLibvirtVersion('virtqemud (libvirt) 10.10.0')).toEqual([10, 10, 0]);
    expect(parseLibvirtVersion('nonsense')).toBeNull();
    expect([[6, 5, 0], [6, 10, 0], [9, 0, 0], [6, 4, 9], [5, 10, 0]].map(supportsHookDirs)).toEqual([true, true, true, false, false]);
  });
});
