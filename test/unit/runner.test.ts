import { describe, expect, it } from 'vitest';
import { CommandError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { makeRunner } from '../../src/sys/runner.js';

describe('the one runner', () => {
  it('passes argv verbatim (no shell) and stdin', async () => {
    const r = await makeRunner(silentLogger()).run(['cat'], { input: '$(echo no) ; `x` | y\n' });
    expect(r.stdout).toBe('$(echo no) ; `x` | y\n');
    expect(r.code).toBe(0);
  });

  it('throws a CommandError with argv, code and the first stderr line', async () => {
    const err = await makeRunner(silentLogger())
      .run(['sh', '-c', 'echo first >&2; echo second >&2; exit 3'])
      .catch((e) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err.exitCodeOfCommand).toBe(3);
    expect(err.message).toBe('sh -c echo first >&2; echo second >&2; exit 3: first');
  });

  it('a missing binary is exit 127, not a crash', async () => {
    const r = await makeRunner(silentLogger()).run(['/nonexistent/tool'], { allowFailure: true });
    expect(r.code).toBe(127);
  });

  it('dry-run records changes without running them, but still runs read-only probes', async () => {
    const runner = makeRunner(silentLogger(), true);
    const change = await runner.run(['false']);
    expect(change.code).toBe(0);
    const probe = await runner.run(['echo', 'hi'], { readOnly: true });
    expect(probe.stdout).toBe('hi\n');
    expect(runner.planned).toEqual([['false']]);
  });
});
