import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

const expected = join(new URL('.', import.meta.url).pathname, 'expected');

/** Compare with test/golden/expected/<name>; UPDATE_GOLDEN=1 rewrites the file (review the diff!). */
export function golden(name: string, actual: string): void {
  const path = join(expected, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
