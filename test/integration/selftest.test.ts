import { describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS } from '../helpers/lab-config.js';
import { BIN, exec } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

async function namespaces(): Promise<string[]> {
  const r = await exec(['ip', 'netns', 'list']);
  return r.stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('nnst-'));
}

describe.skipIf(!req.ok)(`natnet-hook selftest${req.reason}`, () => {
  it('passes every check, prints the table, and leaves no namespace behind', async () => {
    assertBuilt();
    const before = await namespaces();
    const r = await exec([process.execPath, BIN, 'selftest']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(9);
    expect(rows.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    for (const what of ['reserved lease', 'pool lease', 'NAT tcp', 'VM to VM', 'inbound', 'port forward', 'port forward hairpin', 'DNS', 'nothing listens outside']) {
      expect(r.stdout).toContain(what);
    }
    expect(await namespaces()).toEqual(before);
  });
});
