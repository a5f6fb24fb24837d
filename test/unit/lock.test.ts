import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LockError } from '../../src/errors.js';
import { legacyLockFiles, lockSocketName, MAX_ABSTRACT_NAME_BYTES } from '../../src/state/layout.js';
import { acquireLock, describeHolder, type HeldLock, tryLock, withEngineLock, withLock } from '../../src/state/lock.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const runDir = () => join(mkdtempSync(join(tmpdir(), 'natnet-lock-')), 'run');

/** Another process bound to the lock's name (a holder the kernel cleans up after), answering `answer`. */
async function foreignHolder(dir: string, answer: string | null): Promise<ChildProcess> {
  const script = `
    const net = require('node:net');
    const s = net.createServer((c) => { c.on('error', () => {}); if (process.env.ANSWER) c.write(process.env.ANSWER); });
    s.listen({ path: '\\0' + process.env.NAME }, () => process.stdout.write('bound\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { env: { NAME: lockSocketName({ runDir: dir }).slice(1), ANSWER: answer ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', (code) => rej(new Error(`holder exited ${code}`)));
  });
  return child;
}

describe('the engine lock (an abstract unix socket)', () => {
  it('serialises concurrent holders in one process', async () => {
    const dir = runDir();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        withLock(dir, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 2));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('leftover lock and lock.break files of older versions (dead pid, empty, garbage) have no effect', async () => {
    for (const [lock, brk] of [
      ['4194305', ''],
      ['', 'garbage\n'],
      ['\u0000\u00ff', '4194305'],
      ['1', '1'],
    ]) {
      const dir = runDir();
      await withLock(dir, async () => {}); // creates the run dir
      const [lockFile, breakFile] = legacyLockFiles({ runDir: dir });
      writeFileSync(lockFile, lock);
      writeFileSync(breakFile, brk);
      expect(await withLock(dir, async () => 'ran', { waitMs: 1000 })).toBe('ran');
      expect(readFileSync(lockFile, 'utf8')).toBe(lock); // neither read as a holder nor removed
    }
  });

  it('a holder that dies releases the lock at once, without any take-over', async () => {
    const dir = runDir();
    const holder = await foreignHolder(dir, null);
    expect(await tryLock(dir)).toBeNull();
    const waiting = withLock(dir, async () => 'mine', { waitMs: 10_000 });
    holder.kill('SIGKILL');
    expect(await waiting).toBe('mine');
  });

  it('a waiter gives up after its bound with one line naming the holder; the note comes once', async () => {
    const dir = runDir();
    const held = (await tryLock(dir)) as HeldLock;
    const notes: string[] = [];
    try {
      const err = await withLock(dir, async () => {}, { waitMs: 2600, onHeld: (h) => notes.push(h) }).catch((e) => e);
      expect(err).toBeInstanceOf(LockError);
      expect(err.exitCode).toBe(5);
      expect(err.message.split('\n')).toHaveLength(1);
      expect(err.message).toContain(`held by pid ${process.pid} (`);
      expect(err.message).toContain(dir);
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(new RegExp(`^pid ${process.pid} \\(.+\\)$`));
    } finally {
      held.release();
    }
  });

  it('a squatter that does not say who it is (or lies in garbage) is named as such, never trusted', async () => {
    for (const answer of [null, 'garbage\n', '{"pid":-1,"argv":"x"}\n', '{"pid":7,"argv":["node","/x/natnet-hook","\\u001b[31mred"]}\n']) {
      const dir = runDir();
      await foreignHolder(dir, answer);
      const err = await withLock(dir, async () => {}, { waitMs: 100 }).catch((e) => e);
      expect(err).toBeInstanceOf(LockError);
      expect(err.message).toMatch(answer?.includes('"pid":7') ? /held by pid 7 \(natnet-hook \?\[31mred\)/ : /held by a process that does not say who it is/);
    }
  });

  it('the engine lock logs who holds it (CLI: stderr; hooks: engine.log) and skips a dry run', async () => {
    const dir = runDir();
    const held = (await tryLock(dir)) as HeldLock;
    const warned: string[] = [];
    const log = { warn: (_o: object, msg?: string) => warned.push(msg ?? '') };
    setTimeout(() => held.release(), 2300);
    expect(await withEngineLock({ runDir: dir, dryRun: false, log }, async () => 'done')).toBe('done');
    expect(warned).toEqual([expect.stringContaining(`held by pid ${process.pid}`)]);
    const held2 = (await tryLock(dir)) as HeldLock;
    expect(await withEngineLock({ runDir: dir, dryRun: true, log }, async () => 'dry')).toBe('dry');
    held2.release();
  });

  it('lend lets the holder’s own nested withLock in; unrelated holders still wait', async () => {
    const dir = runDir();
    const held = (await tryLock(dir)) as HeldLock;
    expect(await held.lend(() => withLock(dir, async () => 'nested', { waitMs: 100 }))).toBe('nested');
    await expect(withLock(dir, async () => {}, { waitMs: 100 })).rejects.toThrow(LockError);
    held.release();
    held.release(); // idempotent
    expect(await withLock(dir, async () => 'free', { waitMs: 100 })).toBe('free');
  });

  it('acquireLock stops waiting when `unless` turns true', async () => {
    const dir = runDir();
    const held = (await tryLock(dir)) as HeldLock;
    let done = false;
    setTimeout(() => {
      done = true;
    }, 50);
    expect(await acquireLock(dir, { waitMs: 5000, unless: () => done })).toBeNull();
    held.release();
  });

  it('names: one per run dir, at most 107 bytes after the NUL, long run dirs hashed', () => {
    const a = lockSocketName({ runDir: '/run/natnet-hook' });
    expect(a).toBe('\0natnet-hook:lock:/run/natnet-hook');
    const long = `/tmp/${'é'.repeat(80)}`;
    const b = lockSocketName({ runDir: `${long}/a` });
    const c = lockSocketName({ runDir: `${long}/b` });
    expect(b).not.toBe(c);
    for (const n of [b, c]) expect(Buffer.byteLength(n) - 1).toBeLessThanOrEqual(MAX_ABSTRACT_NAME_BYTES);
  });

  it('describeHolder: pid and command from a validated answer', () => {
    expect(describeHolder({ pid: 42, argv: ['/usr/bin/node', '/usr/lib/natnet-hook/bin/natnet-hook', 'up'] })).toBe('pid 42 (natnet-hook up)');
    expect(describeHolder({ pid: '42', argv: [] })).toBeNull();
    expect(describeHolder(null)).toBeNull();
    expect(describeHolder({ pid: 1, argv: ['node', 'x'.repeat(500)] })!.length).toBeLessThan(230);
  });
});
