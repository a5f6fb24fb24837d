import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { makeContext } from '../../src/engine/context.js';
import { ExitCode, UnsafeDirError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { layoutOf } from '../../src/state/layout.js';
import { assertTrustedDirs, dirProblem, trustedDirs } from '../../src/state/trust.js';

const ROOT = 0;

function layout() {
  const dir = mkdtempSync(join(tmpdir(), 'natnet-trust-'));
  mkdirSync(join(dir, 'etc', 'leases.d'), { recursive: true, mode: 0o755 });
  mkdirSync(join(dir, 'state', 'run'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'etc', 'config.toml'), '');
  return layoutOf({ config: join(dir, 'etc', 'config.toml'), stateDir: join(dir, 'state') }, {});
}

describe('directory trust', () => {
  it('checks the config dir, leases.d and run/lib/log themselves (not their parents)', () => {
    const l = layout();
    expect(trustedDirs(l)).toEqual([join(l.configPath, '..'), l.leasesDir, l.runDir, l.libDir, l.logDir]);
  });

  it('root-owned 0755 and absent directories are fine', () => {
    const l = layout();
    chmodSync(l.leasesDir, 0o755);
    expect(dirProblem(l.leasesDir, ROOT)).toBeNull();
    expect(dirProblem(l.libDir, ROOT)).toBeNull(); // does not exist yet
    expect(() => assertTrustedDirs(l, {}, ROOT)).not.toThrow();
  });

  it.each([
    [0o775, 'writable by group', 'chmod go-w'],
    [0o757, 'writable by others', 'chmod go-w'],
    [0o1777, 'writable by group and others', 'chmod go-w'],
  ])('mode %o is refused, naming the directory and the fix', (mode, what, fix) => {
    const l = layout();
    chmodSync(l.runDir, mode);
    expect(dirProblem(l.runDir, ROOT)).toBe(`${l.runDir}: ${what}, so another user could steer what natnet-hook does as root; fix: ${fix} ${l.runDir}`);
  });

  it.skipIf(process.getuid?.() !== 0)('a directory owned by another user is refused (as root)', () => {
    const l = layout();
    chownSync(l.leasesDir, 65534, 65534);
    chmodSync(l.leasesDir, 0o777);
    expect(dirProblem(l.leasesDir, ROOT)).toBe(
      `${l.leasesDir}: owned by uid 65534 and writable by group and others, so another user could steer what natnet-hook does as root; fix: chown root ${l.leasesDir} && chmod go-w ${l.leasesDir}`,
    );
    // the user running natnet-hook may use its own directories (development, tests as that user)
    chmodSync(l.leasesDir, 0o755);
    expect(dirProblem(l.leasesDir, 65534)).toBeNull();
  });

  it('a file where a directory belongs is named', () => {
    const l = layout();
    writeFileSync(l.libDir, '');
    expect(dirProblem(l.libDir, ROOT)).toMatch(/: expected a directory/);
  });

  it('every unsafe directory is one line of one error (exit 3); NATNET_HOOK_ALLOW_UNSAFE_DIRS=1 skips', () => {
    const l = layout();
    chmodSync(l.runDir, 0o777);
    chmodSync(l.leasesDir, 0o775);
    let err: unknown;
    try {
      assertTrustedDirs(l, {}, ROOT);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafeDirError);
    expect((err as UnsafeDirError).exitCode).toBe(ExitCode.config);
    expect((err as Error).message.split('\n').map((line) => line.split(':')[0])).toEqual([l.leasesDir, l.runDir]);
    expect(() => assertTrustedDirs(l, { NATNET_HOOK_ALLOW_UNSAFE_DIRS: '1' }, ROOT)).not.toThrow();
  });

  it('loadConfig refuses before reading anything from an unsafe directory', () => {
    const l = layout();
    chmodSync(l.leasesDir, 0o777);
    writeFileSync(join(l.leasesDir, 'planted.toml'), 'vm = "x"\nip = "192.168.100.10"\n');
    const ctx = makeContext({ config: l.configPath, stateDir: l.stateDir!, log: silentLogger() });
    const saved = process.env.NATNET_HOOK_ALLOW_UNSAFE_DIRS;
    delete process.env.NATNET_HOOK_ALLOW_UNSAFE_DIRS;
    try {
      expect(() => loadConfig(ctx)).toThrow(UnsafeDirError);
    } finally {
      if (saved !== undefined) process.env.NATNET_HOOK_ALLOW_UNSAFE_DIRS = saved;
    }
  });
});
