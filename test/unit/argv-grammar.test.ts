import { describe, expect, it } from 'vitest';
import { parseFast } from '../../src/argv/fast.js';
import type { Invocation } from '../../src/argv/grammar.js';
import { buildProgram } from '../../src/program.js';

/** What commander makes of argv: the invocation its action would run, or its error code. */
async function viaCommander(argv: string[]): Promise<Invocation | { error: string }> {
  let got: Invocation | undefined;
  const silent = { writeOut: () => {}, writeErr: () => {}, outputError: () => {} };
  const record = async (inv: Invocation) => {
    got = inv;
  };
  const program = buildProgram({ run: record, output: silent });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    return { error: String((e as { code?: string }).code) };
  }
  return got ?? { error: 'no action ran' };
}

const hookArgs = ['vm', 'prepare', 'begin', '-'];

/** Argv the fast path must answer (the hooks and `up` as they are really called). */
const fastCorpus: string[][] = [
  ['up'],
  ['up', 'natnet'],
  ['up', 'hook'],
  ['--config', '/x/c.toml', '--state-dir', '/s', 'up'],
  ['-c', 'c.toml', '-v', 'up', 'n'],
  ['--config=c.toml', '--state-dir=/s', 'up'],
  ['-cc.toml', 'up'],
  ['-c=c.toml', 'up'],
  ['-vn', 'up'],
  ['-vc', 'c.toml', 'up'],
  ['-c', 'hook', 'up'],
  ['up', '--dry-run'],
  ['up', 'net', '-v'],
  ['up', '-c', 'c.toml', 'net'],
  ['-c', 'a', 'up', '-c', 'b'],
  ['--state-dir', '/a', '--state-dir', '/b', 'up'],
  ['-v', '-v', 'up'],
  ['hook', 'qemu', ...hookArgs],
  ['hook', 'network', 'net', 'started', 'begin', '-'],
  ['--config', '/c.toml', '--state-dir=/s', 'hook', 'qemu', 'vm --config x', 'prepare', 'begin', '-'],
  ['-c', '/c.toml', 'hook', 'qemu', '-v', 'prepare', 'begin', '-'],
  ['hook', 'qemu', 'vm', '--config', 'x', '--help'],
  ['hook', 'qemu', 'vm', '--', '-x'],
  ['hook', 'network', 'hook', 'start', 'begin', '-'],
  ['hook', 'qemu'],
  ['-v', 'hook', 'qemu', ...hookArgs],
  ['--dry-run', 'hook', 'network', 'n', 'started', 'begin', '-'],
];

/** Argv the fast path may leave to commander (help, version, errors, other commands, doubtful cases). */
const otherCorpus: string[][] = [
  [],
  ['up', 'a', 'b'],
  ['--config'],
  ['--config', 'up'],
  ['up', '--config'],
  ['up', '-c'],
  ['--config=', 'up'],
  ['-c', '', 'up'],
  ['up', '--state-dir='],
  ['-c', '-x', 'up'],
  ['-x', 'up'],
  ['up', '-x'],
  ['up', '--json'],
  ['--verbose=1', 'up'],
  ['--', 'up'],
  ['up', '--', 'net'],
  ['up', '--', '-x'],
  ['up', '-1'],
  ['UP'],
  ['hook'],
  ['hook', 'foo'],
  ['hook', 'up'],
  ['hook', '-v', 'qemu'],
  ['hook', '--', 'qemu'],
  ['--bogus', 'hook', 'qemu'],
  ['--config', 'hook'],
  ['up', 'hook', 'qemu'],
  ['--help'],
  ['-h'],
  ['up', '--help'],
  ['hook', '--help'],
  ['help'],
  ['help', 'up'],
  ['-V'],
  ['--version'],
  ['up', '-V'],
  ['status', '--json'],
  ['-v', 'status', 'n', '--json'],
  ['plan', 'n'],
  ['down'],
  ['lease', 'add', 'vm', '10.0.0.5', '--mac', '52:54:00:00:00:01', '--mac', '52:54:00:00:00:02', '-n'],
  ['lease', '-c', 'x', 'list', '--json'],
  ['selftest', '--firewall', 'bogus'],
];

describe('one argv grammar: the fast parser means what commander means', () => {
  for (const argv of fastCorpus) {
    it(`${argv.join(' ')} (fast path)`, async () => {
      const fast = parseFast(argv);
      expect(fast).not.toBeNull();
      expect(await viaCommander(argv)).toEqual(fast);
    });
  }
  for (const argv of otherCorpus) {
    it(`${argv.join(' ') || '(nothing)'}`, async () => {
      const fast = parseFast(argv);
      const commander = await viaCommander(argv);
      if (fast !== null) expect(commander).toEqual(fast);
    });
  }
});

describe('commander alone', () => {
  it('hook passes libvirt’s argv through untouched, kind first', async () => {
    expect(await viaCommander(['hook', 'qemu', '-v', '--config', 'x', '--', '-'])).toEqual({
      command: ['hook'],
      operands: ['qemu', '-v', '--config', 'x', '--', '-'],
      options: {},
      globals: {},
    });
  });
  it('global options anywhere before and after the command, the last one wins', async () => {
    expect(await viaCommander(['-c', 'a', 'lease', '-v', 'add', 'vm', '10.0.0.5', '--mac', 'm1', '--mac', 'm2', '-c', 'b'])).toEqual({
      command: ['lease', 'add'],
      operands: ['vm', '10.0.0.5'],
      options: { mac: ['m1', 'm2'] },
      globals: { config: 'b', verbose: true },
    });
  });
  it('usage errors, help and version are commander errors (the one handler maps them to 2 or 0)', async () => {
    expect(await viaCommander(['--config=', 'up'])).toEqual({ error: 'commander.invalidArgument' });
    expect(await viaCommander(['hook', 'foo'])).toEqual({ error: 'commander.invalidArgument' });
    expect(await viaCommander(['up', '-x'])).toEqual({ error: 'commander.unknownOption' });
    expect(await viaCommander(['--help'])).toEqual({ error: 'commander.helpDisplayed' });
    expect(await viaCommander(['-V'])).toEqual({ error: 'commander.version' });
  });
  it('lists hook in --help', async () => {
    expect(buildProgram().helpInformation()).toMatch(/^ {2}hook <kind> \[libvirt-args\.\.\.\]/m);
  });
});
