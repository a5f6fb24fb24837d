import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readText } from '../../src/config/read-text.js';

describe('readText', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natnet-read-'));
  it('reads small, multi-byte and larger-than-the-buffer files exactly; null when absent', () => {
    const big = `${'é'.repeat(70_000)}\nend`;
    writeFileSync(join(dir, 'big'), big);
    writeFileSync(join(dir, 'small'), 'vm = "ü"\n');
    writeFileSync(join(dir, 'empty'), '');
    expect(readText(join(dir, 'big'))).toBe(big);
    expect(readText(join(dir, 'small'))).toBe('vm = "ü"\n');
    expect(readText(join(dir, 'empty'))).toBe('');
    expect(readText(join(dir, 'missing'))).toBeNull();
  });
});
