import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return acc.sort();
}

const ctx = (o: { config?: string; stateDir?: string } = {}) =>
  makeContext({ config: o.config ?? join(root, 'etc/natnet-hook/config.toml'), stateDir: o.stateDir ?? join(root, 'state'), log: silentLogger(), env: {} });
const install = (o: Parameters<typeof runInstall>[1] = {}, c = ctx()) => runInstall(c, { root, print, ...o });
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
    expect(q.split('\n')[0]).toBe(`#!${process.execPath}`);
    expect(q).toContain(
      `const INSTALL = ${JSON.stringify({ app: APP_DIR.replace(/\/+$/, ''), config: join(root, 'etc/natnet-hook/config.toml'), stateDir: join(root, 'state'), logDir: join(root, 'state/log'), bridges: ['virbr10'] })};`,
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
    const unit = join(APP_DIR, 'install/systemd/natnet-hook-listen.service');
    expect(existsSync(join(root, 'etc/systemd/system/natnet-hook-listen.service'))).toBe(existsSync(unit));
    expect(out.some((l) => l.includes('SIGHUP'))).toBe(false); // never signals host daemons for another root
  });

  it('the installed hook runs under libvirt’s scrubbed environment, logs to the baked state dir, prints nothing', async () => {
    await install();
    const xml = readFileSync(join(APP_DIR, 'test/fixtures/libvirt/qemu-bridge-prepare.xml'), 'utf8').replaceAll('virbr10', 'br-not-ours');
    const r = spawnSync(hookFile('qemu'), ['lv-vm1', 'prepare', 'begin', '-'], {
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
    await runInstall(makeContext({ config: join(root, 'c.toml'), stateDir: join(root, 's'), dryRun: true, log: silentLogger(), env: {} }), { root, print });
    expect(tree(root)).toEqual([]);
    expect(out.filter((l) => l.startsWith('would write'))).toHaveLength(out.length);
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

describe('libvirt version gate', () => {
  it('qemu.d/ and network.d/ need libvirt >= 6.5', async () => {
    const { parseLibvirtVersion, supportsHookDirs } = await import('../../src/install/libvirt-version.js');
    expect(parseLibvirtVersion('libvirtd (libvirt) 9.0.0\n')).toEqual([9, 0, 0]);
    expect(parseLibvirtVersion('virtqemud (libvirt) 10.10.0')).toEqual([10, 10, 0]);
    expect(parseLibvirtVersion('nonsense')).toBeNull();
    expect([[6, 5, 0], [6, 10, 0], [9, 0, 0], [6, 4, 9], [5, 10, 0]].map(supportsHookDirs)).toEqual([true, true, true, false, false]);
  });
});
