import { describe, expect, it } from 'vitest';
import { isHookCall, parseFastUp } from '../../src/fast-argv.js';

describe('fast argv for `up` (commander is skipped only when the meaning is certain)', () => {
  const ok: [string[], ReturnType<typeof parseFastUp>][] = [
    [['up'], { context: {}, network: undefined }],
    [['up', 'natnet'], { context: {}, network: 'natnet' }],
    [['--config', '/x/c.toml', '--state-dir', '/s', 'up'], { context: { config: '/x/c.toml', stateDir: '/s' }, network: undefined }],
    [['-c', 'c.toml', '-v', 'up', 'n'], { context: { config: 'c.toml', verbose: true }, network: 'n' }],
    [['--config=c.toml', '--state-dir=/s', 'up'], { context: { config: 'c.toml', stateDir: '/s' }, network: undefined }],
  ];
  for (const [argv, want] of ok) it(argv.join(' '), () => expect(parseFastUp(argv)).toEqual(want));

  const toCommander = [
    ['status'],
    ['--dry-run', 'up'],
    ['up', '--dry-run'],
    ['up', '--help'],
    ['up', 'a', 'b'],
    ['--config'],
    ['--config', 'up'],
    ['--verbose=1', 'up'],
    ['-x', 'up'],
    [],
  ];
  for (const argv of toCommander) it(`${argv.join(' ') || '(nothing)'} → commander`, () => expect(parseFastUp(argv)).toBeNull());
});

describe('hook calls go straight to the hook parser', () => {
  it('with or without leading --config/--state-dir', () => {
    expect(isHookCall(['hook', 'qemu', 'vm', 'prepare', 'begin', '-'])).toBe(true);
    expect(isHookCall(['--config', '/c.toml', '--state-dir=/s', 'hook', 'qemu'])).toBe(true);
    expect(isHookCall(['-v', 'hook', 'qemu'])).toBe(false);
    expect(isHookCall(['up'])).toBe(false);
    expect(isHookCall(['--config', 'hook'])).toBe(false);
  });
});

describe('version', () => {
  it('matches package.json', async () => {
    const { readFileSync } = await import('node:fs');
    const { VERSION } = await import('../../src/version.js');
    expect(VERSION).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });
});
