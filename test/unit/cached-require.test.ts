import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const FAST = resolve(import.meta.dirname, '../../dist/fast');
const built = existsSync(join(FAST, 'execa.cjs.v8cache'));

describe.skipIf(!built)(`execa through V8's code cache (dist/fast/cached-require.cjs)${built ? '' : ' [SKIPPED: needs npm run build]'}`, () => {
  it('the built execa-cached.cjs runs a command', async () => {
    const { execa } = require(join(FAST, 'execa-cached.cjs'));
    expect((await execa('true')).exitCode).toBe(0);
  });

  it('a garbage or missing cache only means a normal compile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-cache-'));
    copyFileSync(join(FAST, 'cached-require.cjs'), join(dir, 'cached-require.cjs'));
    writeFileSync(join(dir, 'm.cjs'), 'module.exports = { answer: 42, dir: __dirname };');
    const cachedRequire = require(join(dir, 'cached-require.cjs'));
    expect(cachedRequire('m.cjs')).toEqual({ answer: 42, dir });
    writeFileSync(join(dir, 'n.cjs'), 'module.exports = { answer: 43 };');
    writeFileSync(join(dir, 'n.cjs.v8cache'), 'not a cache');
    expect(cachedRequire('n.cjs')).toEqual({ answer: 43 });
  });
});
