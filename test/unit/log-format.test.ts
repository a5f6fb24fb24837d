import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, UsageError } from '../../src/errors.js';
import { report } from '../../src/report.js';
import { makeLogger } from '../../src/log.js';
import { chooseLogFormat } from '../../src/log/format.js';
import { humanLine } from '../../src/log/human.js';
import { isJournalStream } from '../../src/log/journal.js';

const tty = () => true;
const pipe = () => false;

describe('log format selection', () => {
  it('human on a terminal, json otherwise', () => {
    expect(chooseLogFormat(undefined, {}, tty)).toBe('human');
    expect(chooseLogFormat(undefined, {}, pipe)).toBe('json');
  });
  it('--log-format wins over the terminal and the environment', () => {
    expect(chooseLogFormat('json', { NATNET_HOOK_LOG_FORMAT: 'human' }, tty)).toBe('json');
    expect(chooseLogFormat('human', {}, pipe)).toBe('human');
  });
  it('NATNET_HOOK_LOG_FORMAT wins over the terminal; empty means unset', () => {
    expect(chooseLogFormat(undefined, { NATNET_HOOK_LOG_FORMAT: 'json' }, tty)).toBe('json');
    expect(chooseLogFormat(undefined, { NATNET_HOOK_LOG_FORMAT: 'human' }, pipe)).toBe('human');
    expect(chooseLogFormat(undefined, { NATNET_HOOK_LOG_FORMAT: '' }, tty)).toBe('human');
  });
  it('a bad value is a usage error naming where it came from', () => {
    expect(() => chooseLogFormat('xml', {}, tty)).toThrow(UsageError);
    expect(() => chooseLogFormat('xml', {}, tty)).toThrow('--log-format "xml": expected human or json');
    expect(() => chooseLogFormat(undefined, { NATNET_HOOK_LOG_FORMAT: 'yaml' }, tty)).toThrow('NATNET_HOOK_LOG_FORMAT="yaml"');
  });
});

describe('human lines', () => {
  it('a done step in the past tense, a dry-run one as what would happen', () => {
    expect(humanLine('info', { action: 'create bridge virbr10: ip -batch [...]', ms: 3 }, 'create bridge virbr10')).toBe('created bridge virbr10');
    expect(humanLine('info', { action: 'reload reservations (SIGHUP): pid 7', ms: 1 }, 'reload reservations (SIGHUP)')).toBe('reloaded reservations (SIGHUP)');
    expect(humanLine('info', { action: 'create bridge virbr10: ip', dryRun: true }, 'create bridge virbr10')).toBe('would create bridge virbr10');
    expect(humanLine('info', { action: 'dnsmasq config: write /run/x.conf', ms: 0 }, 'dnsmasq config')).toBe('wrote /run/x.conf (dnsmasq config)');
    expect(humanLine('info', { action: 'dnsmasq config: write /run/x.conf', dryRun: true }, 'dnsmasq config')).toBe('would write /run/x.conf (dnsmasq config)');
    expect(humanLine('info', { action: 'dnsmasq config changed: pid 9' }, 'dnsmasq config changed')).toBe('dnsmasq config changed: pid 9');
  });
  it('warnings and errors are marked; the error follows a colon, other fields in parentheses', () => {
    expect(humanLine('warn', undefined, 'lease ignored')).toBe('warning: lease ignored');
    expect(humanLine('warn', { err: 'EACCES' }, 'could not write listener status')).toBe('warning: could not write listener status: EACCES');
    expect(humanLine('error', { reason: 'timer', err: 'boom' }, 'repair failed')).toBe('error: repair failed: boom (reason timer)');
    expect(humanLine('info', { reason: 'x', actions: ['a', 'b'] }, 'repaired')).toBe('repaired (reason x, actions [a; b])');
    expect(humanLine('debug', { argv: ['ip', 'link'], code: 0, ms: 2 }, 'run')).toBe('debug: run (argv ip link, code 0)');
    expect(humanLine('info', { argv: ['ip', '-batch', '-'], input: 'x' }, 'dry-run')).toBe('would run: ip -batch -');
  });
  it('control characters are shown escaped, never sent to the terminal', () => {
    expect(humanLine('warn', { vm: 'a\u001b[2Jb' }, 'vm\nname')).toBe('warning: vm\\nname (vm a\\u001b[2Jb)');
  });
});

describe('makeLogger on a real descriptor', () => {
  let dir: string;
  let file: string;
  let fd: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'natnet-log-'));
    file = join(dir, 'stderr');
    fd = openSync(file, 'w');
  });
  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  const journalOf = (d: number) => {
    const st = fstatSync(d, { bigint: true });
    return `${st.dev}:${st.ino}`;
  };
  const logAll = (opts: Parameters<typeof makeLogger>[0]) => {
    const log = makeLogger({ verbose: true, fd, ...opts });
    log.error({ err: 'boom' }, 'repair failed');
    log.warn('careful');
    log.info({ action: 'create bridge virbr10: ip -batch', ms: 1 }, 'create bridge virbr10');
    log.debug('details');
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  };

  it('human form: plain lines, no pino', () => {
    expect(logAll({ format: 'human', env: {} })).toEqual(['error: repair failed: boom', 'warning: careful', 'created bridge virbr10', 'debug: details']);
  });
  it('json form: one pino JSON line each', () => {
    const lines = logAll({ format: 'json', env: {} }).map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'repair failed'],
      [40, 'careful'],
      [30, 'create bridge virbr10'],
      [20, 'details'],
    ]);
  });
  it('stderr is the journal (JOURNAL_STREAM = its dev:ino): each line starts with its syslog priority', () => {
    const env = { JOURNAL_STREAM: journalOf(fd) };
    expect(isJournalStream(env, fd)).toBe(true);
    const lines = logAll({ format: 'json', env });
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
    expect(JSON.parse(lines[0].slice(3)).msg).toBe('repair failed');
  });
  it('the human form under the journal carries the priorities too', () => {
    expect(logAll({ format: 'human', env: { JOURNAL_STREAM: journalOf(fd) } })).toEqual([
      '<3>error: repair failed: boom',
      '<4>warning: careful',
      '<6>created bridge virbr10',
      '<7>debug: details',
    ]);
  });
  it('JOURNAL_STREAM naming another stream (inherited by a child that redirected stderr): no prefixes', () => {
    const other = openSync(join(dir, 'other'), 'w');
    try {
      const env = { JOURNAL_STREAM: journalOf(other) };
      expect(isJournalStream(env, fd)).toBe(false);
      expect(logAll({ format: 'human', env })[0]).toBe('error: repair failed: boom');
    } finally {
      closeSync(other);
    }
    expect(isJournalStream({ JOURNAL_STREAM: 'garbage' }, fd)).toBe(false);
    expect(isJournalStream({}, fd)).toBe(false);
  });
  it('quiet keeps warnings and errors only', () => {
    const log = makeLogger({ quiet: true, fd, format: 'human', env: {} });
    log.info('hidden');
    log.warn('shown');
    expect(readFileSync(file, 'utf8')).toBe('warning: shown\n');
  });
});

describe('report() under the journal', () => {
  it('the one error line carries priority err when fd 2 is the stream JOURNAL_STREAM names', () => {
    const st = fstatSync(2, { bigint: true });
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const e = new ConfigError([{ file: '/etc/x.toml', field: 'a', expected: 'b' }]);
      report(e, { JOURNAL_STREAM: `${st.dev}:${st.ino}` });
      report(e, { JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` });
    } finally {
      spy.mockRestore();
    }
    expect(stderr).toBe('<3>natnet-hook: /etc/x.toml: a: b\nnatnet-hook: /etc/x.toml: a: b\n');
  });
});
