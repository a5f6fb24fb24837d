import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { assertBuilt, LAB_BINS, leaseToml } from '../helpers/lab-config.js';
import { Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });
const CORPUS = join(REPO, 'test', 'fixtures', 'bad-configs');

/** Each fixture: <name>.toml whose "# expect: TEXT" lines must all appear in the error; optional <name>.leases.d/. */
const fixtures = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.toml'))
  .sort()
  .map((f) => {
    const text = readFileSync(join(CORPUS, f), 'utf8');
    const expects = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]);
    const leasesDir = join(CORPUS, f.replace(/\.toml$/, '.leases.d'));
    return { name: f, text, expects, leasesDir: existsSync(leasesDir) ? leasesDir : null };
  });

/** State files that say what the engine wrote; an empty lock file is how waiting works, not a write. */
function written(lab: Lab): Record<string, string> | null {
  const files = lab.stateFiles();
  if (!files) return null;
  return Object.fromEntries(Object.entries(files).filter(([f, t]) => !(/lock/i.test(f) && t === '')));
}

describe.skipIf(!req.ok)(`bad configs: right error, exit 3, nothing written${req.reason}`, () => {
  let lab: Lab;
  let pristine: Awaited<ReturnType<Lab['snapshot']>>;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    pristine = await lab.snapshot();
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('the corpus is not empty and every fixture states what it expects', () => {
    expect(fixtures.length).toBeGreaterThan(20);
    for (const f of fixtures) expect(f.expects.length, f.name).toBeGreaterThan(0);
  });

  for (const f of fixtures) {
    it(f.name, async () => {
      rmSync(lab.leasesDir, { recursive: true, force: true });
      if (f.leasesDir) {
        cpSync(f.leasesDir, lab.leasesDir, { recursive: true });
        // a checkout made with umask 002 has group-writable directories, which natnet-hook refuses
        chmodSync(lab.leasesDir, 0o755);
      }
      lab.writeConfig(f.text);
      const before = written(lab);
      const r = await lab.cli(['up']);
      expect(r.code, r.all).toBe(ExitCode.config);
      expect(r.stdout).toBe('');
      for (const e of f.expects) expect(r.stderr).toContain(e);
      expect(written(lab)).toEqual(before);
      expect(await lab.snapshot()).toEqual(pristine);
    });
  }

  describe('lease add with bad input', () => {
    const cases: { args: string[]; expect: string }[] = [
      { args: ['vmx', '192.168.100.300'], expect: '192.168.100.300' },
      { args: ['vmx', '10.9.9.9'], expect: '10.9.9.9' },
      { args: ['vmx', '192.168.100.150'], expect: '192.168.100.150' },
      { args: ['vmx', '192.168.100.1'], expect: '192.168.100.1' },
      { args: ['vmx', '192.168.100.11', '--mac', '52:54:00:aa:bb'], expect: '52:54:00:aa:bb' },
      { args: ['vmx', '192.168.100.11', '--hostname', 'a,b'], expect: 'a,b' },
      { args: ['vmx', '192.168.100.10'], expect: '192.168.100.10' },
      { args: ['vm1', '192.168.100.12', '--mac', '52:54:00:aa:bb:01'], expect: '52:54:00:aa:bb:01' },
    ];
    beforeAll(() => {
      rmSync(lab.leasesDir, { recursive: true, force: true });
      lab.writeConfig(leaseToml({ vm: 'vm1', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01' }));
    });
    for (const c of cases) {
      it(`lease add ${c.args.join(' ')}`, async () => {
        const before = written(lab);
        const r = await lab.cli(['lease', 'add', ...c.args]);
        expect(r.code, r.all).toBe(ExitCode.config);
        expect(r.stderr).toContain(c.expect);
        expect(existsSync(lab.leasesDir) ? readdirSync(lab.leasesDir) : []).toEqual([]);
        expect(written(lab)).toEqual(before);
        expect(await lab.snapshot()).toEqual(pristine);
      });
    }
  });

  it('a bad config after a good up changes nothing of the running network', async () => {
    rmSync(lab.leasesDir, { recursive: true, force: true });
    lab.writeConfig('');
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    const running = await lab.snapshot();
    const files = written(lab);
    const pids = await lab.dnsmasqPids();
    lab.writeConfig(readFileSync(join(CORPUS, 'all-problems-at-once.toml'), 'utf8'));
    const r = await lab.cli(['up']);
    expect(r.code, r.all).toBe(ExitCode.config);
    expect(await lab.snapshot()).toEqual(running);
    expect(written(lab)).toEqual(files);
    expect(await lab.dnsmasqPids()).toEqual(pids);
  });
});
