import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifestPath, readManifest } from '../../src/install/manifest.js';
import { NatnetError } from '../../src/errors.js';
import { readListenerStatus } from '../../src/listen/status-file.js';
import { listenerStatusFile } from '../../src/state/layout.js';

const hash = 'a'.repeat(64);

describe('install manifest read back', () => {
  const root = mkdtempSync(join(tmpdir(), 'natnet-manifest-'));
  const write = (m: unknown) => {
    mkdirSync(dirname(manifestPath(root)), { recursive: true });
    writeFileSync(manifestPath(root), typeof m === 'string' ? m : JSON.stringify(m));
  };
  const valid = { version: 1, files: [{ path: join(root, 'etc/x'), kind: 'hook', sha256: hash }], dirs: [], config: '/etc/natnet-hook/config.toml', stateDir: null };

  it('accepts what install writes (version 1: absolute, made relative to the root; version 2: relative)', () => {
    write(valid);
    expect(readManifest(root)?.files[0].path).toBe('etc/x');
    write({ ...valid, version: 2, files: [{ path: 'etc/x', kind: 'hook', sha256: hash }], links: [{ path: 'usr/sbin/natnet-hook', target: 'x' }], runtimes: ['0.1.0'] });
    expect(readManifest(root)).toMatchObject({ files: [{ path: 'etc/x' }], links: [{ path: 'usr/sbin/natnet-hook' }], runtimes: ['0.1.0'] });
  });

  it.each([
    ['a path outside the root', { ...valid, files: [{ path: '/etc/passwd', kind: 'hook', sha256: hash }] }],
    ['a path escaping with ..', { ...valid, files: [{ path: join(root, 'etc/../../x'), kind: 'hook', sha256: hash }] }],
    ['a dir outside the root', { ...valid, dirs: ['/usr'] }],
    ['truncated JSON', '{"version": 1, "files": ['],
    ['null', 'null'],
  ])('refuses %s with one line naming the file, never a path to delete', (_, m) => {
    write(m);
    let err: unknown;
    try {
      readManifest(root);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NatnetError);
    expect((err as Error).message).toContain(manifestPath(root));
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });
});

describe('listener status read back', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'natnet-listener-'));
  it.each([['null'], ['{}'], ['{"pid": "1; rm"}'], ['not json'], ['']])('%j is "no listener", never a crash', (text) => {
    writeFileSync(listenerStatusFile({ runDir }), text);
    expect(readListenerStatus(runDir)).toBeNull();
  });
});
