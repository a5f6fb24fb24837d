import { readFileSync, renameSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, ExitCode, LockError } from '../../src/errors.js';
import { report } from '../../src/report.js';

/** What report() writes to stderr, and the exit code it returns. */
function reported(e: unknown, env: NodeJS.ProcessEnv = {}): { code: number; stderr: string } {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: report(e, env), stderr };
  } finally {
    spy.mockRestore();
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('report: one line per problem, never a stack trace', () => {
  let debug: string | undefined;
  beforeEach(() => {
    debug = process.env.NATNET_HOOK_DEBUG;
    delete process.env.NATNET_HOOK_DEBUG;
  });
  afterEach(() => {
    if (debug !== undefined) process.env.NATNET_HOOK_DEBUG = debug;
  });

  it('our errors: their lines, their exit code', () => {
    const e = new ConfigError([
      { file: '/etc/x.toml', field: 'a', value: 1, expected: 'expected 2' },
      { file: '/etc/leases.d/b.toml', field: '', expected: 'expected a regular file, found a FIFO (named pipe)' },
    ]);
    expect(reported(e)).toEqual({
      code: ExitCode.config,
      stderr: 'natnet-hook: /etc/x.toml: a = 1: expected 2\nnatnet-hook: /etc/leases.d/b.toml: expected a regular file, found a FIFO (named pipe)\n',
    });
    expect(reported(new LockError('held by pid 1')).code).toBe(ExitCode.lock);
  });

  it('a file system error: the path, what failed and the code', () => {
    const e = thrown(() => readFileSync('/nonexistent/natnet/config.toml'));
    expect(reported(e)).toEqual({ code: ExitCode.failure, stderr: 'natnet-hook: /nonexistent/natnet/config.toml: cannot open: no such file or directory (ENOENT)\n' });
    const r = thrown(() => renameSync('/nonexistent/a', '/nonexistent/b'));
    expect(reported(r).stderr).toBe('natnet-hook: /nonexistent/a: cannot rename to /nonexistent/b: no such file or directory (ENOENT)\n');
    const pipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
    expect(reported(pipe).stderr).toBe('natnet-hook: cannot write: broken pipe (EPIPE)\n');
    const d = thrown(() => readFileSync('/'));
    expect(reported(d).stderr).toBe('natnet-hook: cannot read: illegal operation on a directory (EISDIR)\n');
  });

  it('a bug: its message on one line', () => {
    const bug = thrown(() => (null as unknown as { x: number }).x);
    const r = reported(bug);
    expect(r.code).toBe(ExitCode.failure);
    expect(r.stderr).toMatch(/^natnet-hook: Cannot read properties of null \(reading 'x'\)\n$/);
    expect(reported(new Error('first\n    at somewhere (file.js:1:1)\nthird')).stderr).toBe('natnet-hook: first; at somewhere (file.js:1:1); third\n');
    expect(reported('a string').stderr).toBe('natnet-hook: a string\n');
    expect(reported(undefined).stderr).toBe('natnet-hook: undefined\n');
  });

  it('NATNET_HOOK_DEBUG=1 adds the stack of an unexpected error (for bug reports)', () => {
    expect(reported(new TypeError('boom'), { NATNET_HOOK_DEBUG: '1' }).stderr).toMatch(/^natnet-hook: boom\nTypeError: boom\n {4}at /);
  });
});
