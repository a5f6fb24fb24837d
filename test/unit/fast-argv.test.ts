import { describe, expect, it } from 'vitest';
import { parseFast } from '../../src/argv/fast.js';
import type { Invocation } from '../../src/argv/grammar.js';

const up = (operands: string[], globals: Invocation['globals'] = {}): Invocation => ({ command: ['up'], operands, options: {}, globals });
const hook = (operands: string[], globals: Invocation['globals'] = {}): Invocation => ({ command: ['hook'], operands, options: {}, globals });

describe('fast argv for `up` (commander is skipped only when the meaning is certain)', () => {
  const ok: [string[], Invocation][] = [
    [['up'], up([])],
    [['up', 'natnet'], up(['natnet'])],
    [['--config', '/x/c.toml', '--state-dir', '/s', 'up'], up([], { config: '/x/c.toml', stateDir: '/s' })],
    [['-c', 'c.toml', '-v', 'up', 'n'], up(['n'], { config: 'c.toml', verbose: true })],
    [['--config=c.toml', '--state-dir=/s', 'up'], up([], { config: 'c.toml', stateDir: '/s' })],
    [['--dry-run', 'up'], up([], { dryRun: true })],
    [['up', 'n', '-n'], up(['n'], { dryRun: true })],
    [['-c', 'a', 'up', '--config', 'b'], up([], { config: 'b' })],
  ];
  for (const [argv, want] of ok) it(argv.join(' '), () => expect(parseFast(argv)).toEqual(want));

  const toCommander = [
    ['status'],
    ['up', '--help'],
    ['up', 'a', 'b'],
    ['--config'],
    ['--config', 'up'],
    ['--config=', 'up'],
    ['-c', '-x', 'up'],
    ['--verbose=1', 'up'],
    ['-x', 'up'],
    ['up', '--', 'n'],
    ['-V'],
    [],
  ];
  for (const argv of toCommander) it(`${argv.join(' ') || '(nothing)'} → commander`, () => expect(parseFast(argv)).toBeNull());
});

describe('fast argv for `hook`: global options before "hook", libvirt’s argv left alone', () => {
  it('with or without leading --config/--state-dir', () => {
    expect(parseFast(['hook', 'qemu', 'vm', 'prepare', 'begin', '-'])).toEqual(hook(['qemu', 'vm', 'prepare', 'begin', '-']));
    expect(parseFast(['--config', '/c.toml', '--state-dir=/s', 'hook', 'qemu', 'vm --config x', 'prepare', 'begin', '-'])).toEqual(
      hook(['qemu', 'vm --config x', 'prepare', 'begin', '-'], { config: '/c.toml', stateDir: '/s' }),
    );
    expect(parseFast(['hook', 'network', 'hook', 'start', 'begin', '-'])).toEqual(hook(['network', 'hook', 'start', 'begin', '-']));
  });
  it('a VM called like an option is still libvirt’s', () => {
    expect(parseFast(['hook', 'qemu', '-v', 'prepare', 'begin', '-'])).toEqual(hook(['qemu', '-v', 'prepare', 'begin', '-']));
    expect(parseFast(['hook', 'qemu', '--config', '--help'])).toEqual(hook(['qemu', '--config', '--help']));
  });
  it('anything doubtful goes to commander', () => {
    expect(parseFast(['hook'])).toBeNull();
    expect(parseFast(['hook', 'up'])).toBeNull();
    expect(parseFast(['hook', '--help'])).toBeNull();
    expect(parseFast(['--config', 'hook'])).toBeNull();
    expect(parseFast(['--bogus', 'hook', 'qemu'])).toBeNull();
  });
});

describe('version', () => {
  it('matches package.json', async () => {
    const { readFileSync } = await import('node:fs');
    const { VERSION } = await import('../../src/version.js');
    expect(VERSION).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });
});
