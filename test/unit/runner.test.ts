import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandError, ConfigError, NatnetError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { COMMAND_TIMEOUT_VARIABLE, commandTimeoutSeconds, DEFAULT_COMMAND_TIMEOUT_SECONDS } from '../../src/sys/command-timeout.js';
import { makeRunner } from '../../src/sys/runner.js';
import { spawnBackground, spawnBounded } from '../../src/sys/spawn.js';
import { REPO } from '../helpers/netns.js';

const runner = (env: NodeJS.ProcessEnv = {}) => makeRunner(silentLogger(), false, env);
const failure = (p: Promise<unknown>) => p.then(() => expect.unreachable('it should have failed'), (e: unknown) => e as CommandError);

describe('the one runner', () => {
  it('passes argv verbatim (no shell) and stdin', async () => {
    const r = await runner().run(['cat'], { input: '$(echo no) ; `x` | y\n' });
    expect(r.stdout).toBe('$(echo no) ; `x` | y\n');
    expect(r.code).toBe(0);
  });

  it('keeps stdout and stderr exactly (trailing newline included), closes stdin when there is no input', async () => {
    const r = await runner().run(['sh', '-c', 'cat; printf "a\\n\\n"; printf "e\\n" >&2']);
    expect(r).toMatchObject({ code: 0, stdout: 'a\n\n', stderr: 'e\n' });
  });

  it('adds env to ours', async () => {
    const r = await runner().run(['sh', '-c', 'printf "%s %s" "$NN_X" "$PATH"'], { env: { NN_X: 'y' } });
    expect(r.stdout).toBe(`y ${process.env.PATH}`);
  });

  it('throws a CommandError with argv, code and the first stderr line', async () => {
    const err = await failure(runner().run(['sh', '-c', 'echo; echo first >&2; echo second >&2; exit 3']));
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toBeInstanceOf(NatnetError);
    expect(err.exitCodeOfCommand).toBe(3);
    expect(err.message).toBe('sh -c echo; echo first >&2; echo second >&2; exit 3: first');
  });

  it('a non-zero exit without stderr names the exit code; allowFailure returns it', async () => {
    expect((await failure(runner().run(['false']))).message).toBe('false: exit 1');
    expect((await runner().run(['false'], { allowFailure: true })).code).toBe(1);
  });

  it('a command that outlives its timeout is killed, and the error names it and the timeout in one line', async () => {
    const started = Date.now();
    const err = await failure(runner().run(['sh', '-c', 'echo waiting for the lock >&2; exec sleep 30'], { timeoutSeconds: 0.3 }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(CommandError);
    expect(err.end).toMatchObject({ kind: 'timeout', seconds: 0.3 });
    expect(err.message).toMatch(/^sh -c echo waiting for the lock >&2; exec sleep 30: timed out after 0\.3 s and was killed \(.*NATNET_HOOK_COMMAND_TIMEOUT.*\): waiting for the lock$/);
    expect(err.message).not.toContain('\n');
  });

  it('a timeout is an error even with allowFailure (a hung command is never "tolerated")', async () => {
    const err = await failure(runner().run(['sleep', '30'], { timeoutSeconds: 0.2, allowFailure: true }));
    expect(err.end.kind).toBe('timeout');
  });

  it('NATNET_HOOK_COMMAND_TIMEOUT is the default timeout', async () => {
    const err = await failure(runner({ [COMMAND_TIMEOUT_VARIABLE]: '0.2' }).run(['sleep', '30']));
    expect(err.message).toContain('timed out after 0.2 s');
  });

  it('a command that ignores SIGTERM gets SIGKILL (kill-after), and a child holding its output is not waited for', async () => {
    const started = Date.now();
    const err = await failure(runner().run(['sh', '-c', 'trap "" TERM; sleep 8 & wait'], { timeoutSeconds: 0.2 }));
    // 0.2 s + 3 s kill-after + 1 s for the orphaned sleep's pipe
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(err.end.kind).toBe('timeout');
  }, 15_000);

  it('a command killed by a signal names the signal', async () => {
    const err = await failure(runner().run(['sh', '-c', 'echo dying >&2; kill -USR1 $$']));
    expect(err.end).toEqual({ kind: 'signal', signal: 'SIGUSR1' });
    expect(err.message).toBe('sh -c echo dying >&2; kill -USR1 $$: killed by SIGUSR1: dying');
  });

  it('a missing binary is one line naming it; allowFailure gives exit 127 with that line as stderr', async () => {
    const err = await failure(runner().run(['/nonexistent/tool', '--flag']));
    expect(err.message).toBe('/nonexistent/tool: command not found (install the package that provides it)');
    const r = await runner().run(['/nonexistent/tool'], { allowFailure: true });
    expect(r.code).toBe(127);
    expect(r.stderr).toBe(err.message);
  });

  it('argv with control characters stays one line in the message', async () => {
    const err = await failure(runner().run(['sh', '-c', 'exit 2\n#second line']));
    expect(err.message).toBe('sh -c exit 2\\n#second line: exit 2');
  });

  it('dry-run records changes without running them, but still runs read-only probes', async () => {
    const r = makeRunner(silentLogger(), true, {});
    const change = await r.run(['false']);
    expect(change.code).toBe(0);
    const probe = await r.run(['echo', 'hi'], { readOnly: true });
    expect(probe.stdout).toBe('hi\n');
    expect(r.planned).toEqual([['false']]);
  });

  it('a bad NATNET_HOOK_COMMAND_TIMEOUT fails the first command with one line naming the variable, and nothing else', async () => {
    const r = runner({ [COMMAND_TIMEOUT_VARIABLE]: 'soon' });
    const err = await r.run(['true']).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^environment: NATNET_HOOK_COMMAND_TIMEOUT = "soon": seconds each external command may run/);
    expect(err.message).not.toContain('\n');
    // a dry-run change spawns nothing and so never reads it
    expect((await makeRunner(silentLogger(), true, { [COMMAND_TIMEOUT_VARIABLE]: 'soon' }).run(['true'])).code).toBe(0);
  });
});

describe('NATNET_HOOK_COMMAND_TIMEOUT', () => {
  const parse = (v: string | undefined) => commandTimeoutSeconds(v === undefined ? {} : { [COMMAND_TIMEOUT_VARIABLE]: v });

  it('defaults to 30 s when unset or empty', () => {
    expect(DEFAULT_COMMAND_TIMEOUT_SECONDS).toBe(30);
    expect(parse(undefined)).toBe(30);
    expect(parse('')).toBe(30);
  });

  it('takes seconds, fractions too', () => {
    expect(parse('2')).toBe(2);
    expect(parse(' 90 ')).toBe(90);
    expect(parse('0.5')).toBe(0.5);
    expect(parse('86400')).toBe(86400);
  });

  it.each(['0', '-1', 'abc', '1e3', '0x10', '5s', 'Infinity', 'NaN', '86401', '1.2.3'])('refuses %j naming the variable', (v) => {
    expect(() => parse(v)).toThrow(ConfigError);
    expect(() => parse(v)).toThrow(/NATNET_HOOK_COMMAND_TIMEOUT/);
  });
});

describe('spawnBounded / spawnBackground', () => {
  it('spawnBounded never throws for what the command does', async () => {
    const r = await spawnBounded(['sleep', '5'], { timeoutSeconds: 0.2 });
    expect(r).toMatchObject({ code: null, end: { kind: 'timeout', seconds: 0.2 } });
    expect((await spawnBounded(['/nonexistent'], { timeoutSeconds: 1 })).code).toBe(127);
  });

  it('spawnBackground starts without waiting and reports the exit', async () => {
    const bg = await spawnBackground(['sh', '-c', 'exit 7']);
    expect(bg.pid).toBeGreaterThan(0);
    expect(await bg.exited).toBe(7);
    await expect(spawnBackground(['/nonexistent/daemon'])).rejects.toThrow('/nonexistent/daemon: command not found');
  });

  it('pipes: stdout and stderr are read live, stdin is written and closed by the caller; exited waits for the pipes', async () => {
    const bg = await spawnBackground(['sh', '-c', 'echo ready; read line; echo "got $line"; echo err >&2; exit 3'], { pipes: true });
    let stdout = '';
    let stderr = '';
    bg.child.stderr?.on('data', (b) => {
      stderr += b;
    });
    // the first line arrives while the process waits for stdin: nothing is buffered until the end
    const first = await new Promise<string>((res) => bg.child.stdout?.once('data', (b) => res(String(b))));
    expect(first).toBe('ready\n');
    expect(bg.child.exitCode).toBeNull();
    bg.child.stdout?.on('data', (b) => {
      stdout += b;
    });
    bg.child.stdin?.end('hello\n');
    expect(await bg.exited).toBe(3);
    expect(await bg.signal).toBeNull();
    expect({ stdout, stderr }).toEqual({ stdout: 'got hello\n', stderr: 'err\n' });
  });

  it('pipes with input: written and closed; a reader closing stdout early is no error', async () => {
    const cat = await spawnBackground(['cat'], { pipes: true, input: 'abc' });
    let out = '';
    cat.child.stdout?.on('data', (b) => {
      out += b;
    });
    expect(await cat.exited).toBe(0);
    expect(out).toBe('abc');
    const yes = await spawnBackground(['yes'], { pipes: true, input: '' });
    yes.child.stdout?.once('data', () => yes.child.stdout?.destroy());
    // it ends (EPIPE or SIGPIPE, as under `yes | head`), and exited resolves: the destroyed pipe is no error
    expect([1, 128]).toContain(await yes.exited);
    await expect(spawnBackground(['cat'], { input: 'x' })).rejects.toThrow(TypeError);
    await expect(spawnBackground(['cat'], { pipes: true, logFile: '/dev/null' })).rejects.toThrow(TypeError);
  });

  it('detached: its own process group, which process.kill(-pid) ends with its children; signal names the kill', async () => {
    const bg = await spawnBackground(['sh', '-c', 'sleep 60 & echo $!; wait'], { pipes: true, detached: true });
    const sleeper = Number(await new Promise<string>((res) => bg.child.stdout?.once('data', (b) => res(String(b).trim()))));
    const pgrp = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[2]);
    expect(pgrp(bg.pid)).toBe(bg.pid);
    expect(pgrp(sleeper)).toBe(bg.pid);
    expect(pgrp(bg.pid)).not.toBe(pgrp(process.pid));
    process.kill(-bg.pid, 'SIGKILL');
    expect(await bg.signal).toBe('SIGKILL');
    expect(await bg.exited).toBe(128);
    for (let i = 0; i < 100 && existsSync(`/proc/${sleeper}`) && !readFileSync(`/proc/${sleeper}/stat`, 'utf8').includes(') Z'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(!existsSync(`/proc/${sleeper}`) || readFileSync(`/proc/${sleeper}/stat`, 'utf8').includes(') Z'), 'the group\'s other process died too').toBe(true);
  });
});

describe('execa is loaded at the first spawn, not before', () => {
  // signal-exit (only execa uses it) registers this global when its module body runs
  const loadedMarker = "globalThis[Symbol.for('signal-exit emitter')] !== undefined";
  const probe = (code: string, type: 'commonjs' | 'module' = 'commonjs') =>
    execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: REPO, encoding: 'utf8' }).trim();
  const fast = (f: string) => join(REPO, 'dist/fast', f);
  if (!existsSync(fast('hook/prefilter.cjs'))) execFileSync('npm', ['run', 'build'], { cwd: REPO });

  it('the marker shows execa loaded (control)', () => {
    expect(probe(`await import('execa'); console.log(${loadedMarker})`, 'module')).toBe('true');
  });

  it.each(['cli.cjs', 'program.cjs', 'hook-command.cjs'])('requiring dist/fast/%s does not evaluate execa', (f) => {
    expect(probe(`require(${JSON.stringify(fast(f))}); console.log(${loadedMarker})`)).toBe('false');
  });

  it('the hook prefilter bundle does not contain execa at all', () => {
    expect(readFileSync(fast('hook/prefilter.cjs'), 'utf8')).not.toMatch(/execa|signal-exit/);
  });
});
