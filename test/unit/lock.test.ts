import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from '../../src/apply/lock.js';

/** A pid that is certainly not running: above the kernel's pid_max. */
const DEAD = 4_194_305;

describe('the engine lock', () => {
  it('serialises concurrent holders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-lock-'));
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
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it("takes over a dead holder's lock, once, and leaves no break file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-lock-'));
    writeFileSync(join(dir, 'lock'), String(DEAD));
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: 5 }, () =>
        withLock(dir, async () => {
          seen.push(readFileSync(join(dir, 'lock'), 'utf8'));
        }),
      ),
    );
    expect(seen).toEqual(Array(5).fill(String(process.pid)));
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    expect(existsSync(join(dir, 'lock.break'))).toBe(false);
  });

  it("a live holder's lock is never broken: waiting ends in a timeout naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-lock-'));
    writeFileSync(join(dir, 'lock'), '1'); // init: alive
    await expect(withLock(dir, async () => {}, 50)).rejects.toThrow(/held by pid 1/);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe('1');
  });
});
