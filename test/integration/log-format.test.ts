import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPLETION_FILES } from '../../src/render/completion.js';
import { MAN_PAGE_FILE } from '../../src/render/manpage.js';
import { assertBuilt, LAB_BINS } from '../helpers/lab-config.js';
import { BIN, Lab, REPO } from '../helpers/netns.js';
import { hasBinary, needs } from '../helpers/requirements.js';

/** What a person sees (--log-format human) and what a machine gets (json, the default off a terminal). */
const req = needs({ root: true, bins: LAB_BINS });

const lines = (text: string) => text.split('\n').filter(Boolean);

describe.skipIf(!req.ok)(`log lines for people and for machines${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig('');
  });
  afterAll(async () => {
    await lab?.cli(['down']);
    await lab?.cleanup();
  });

  it('up --log-format human: short plain lines of what was done', async () => {
    const r = await lab.cli(['--log-format', 'human', 'up']);
    expect(r.code, r.all).toBe(0);
    const err = lines(r.stderr);
    expect(err).toContain('created bridge virbr10');
    expect(err).toContain('started dnsmasq for natnet');
    for (const l of err) expect(l, 'no JSON, no time stamps').not.toMatch(/^\{|"level"|\d{10}/);
  });

  it('down with NATNET_HOOK_LOG_FORMAT=human, then up off a terminal: one JSON line each', async () => {
    const down = await lab.cli(['down'], { env: { NATNET_HOOK_LOG_FORMAT: 'human' } });
    expect(down.code, down.all).toBe(0);
    expect(lines(down.stderr).some((l) => l.startsWith('removed ')), down.stderr).toBe(true);
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    const records = lines(up.stderr).map((l) => JSON.parse(l));
    expect(records.length).toBeGreaterThan(0);
    expect(records.map((x) => x.msg)).toContain('create bridge virbr10');
    for (const x of records) expect(x).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
  });

  it('--log-format json wins over NATNET_HOOK_LOG_FORMAT; a bad value is one usage line', async () => {
    const r = await lab.cli(['up', '--dry-run', '--log-format', 'json'], { env: { NATNET_HOOK_LOG_FORMAT: 'human' } });
    expect(r.code, r.all).toBe(0);
    for (const l of lines(r.stderr)) expect(() => JSON.parse(l), l).not.toThrow();
    const bad = await lab.cli(['status', '--log-format', 'xml']);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toHaveLength(1);
    const badEnv = await lab.cli(['up'], { env: { NATNET_HOOK_LOG_FORMAT: 'yaml' } });
    expect([badEnv.code, badEnv.stderr]).toEqual([2, 'natnet-hook: NATNET_HOOK_LOG_FORMAT="yaml": expected human or json (or unset it)\n']);
  });

  it.skipIf(!hasBinary('python3'))(`on a real terminal (a pty) plain lines without being asked${hasBinary('python3') ? '' : ' [SKIPPED: needs python3]'}`, async () => {
    await lab.mustCli(['down']);
    // python's pty.spawn gives the CLI a terminal on stdin/stdout/stderr and copies what it shows
    const r = await lab.run(['python3', '-c', 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)', process.execPath, BIN, '--config', lab.configPath, '--state-dir', lab.stateDir, 'up']);
    expect(r.code, r.stdout).toBe(0);
    const shown = lines(r.stdout.replace(/\r/g, ''));
    expect(shown).toContain('created bridge virbr10');
    expect(r.stdout).not.toContain('"level"');
  });

  it('completion bash from the built CLI is the file the build wrote, and valid bash', async () => {
    const r = await lab.cli(['completion', 'bash']);
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toBe(spawnSync('cat', [join(REPO, 'dist', COMPLETION_FILES.bash)], { encoding: 'utf8' }).stdout);
    expect(spawnSync('bash', ['-n'], { input: r.stdout }).status).toBe(0);
    expect(existsSync(join(REPO, 'dist', COMPLETION_FILES.zsh))).toBe(true);
    expect(existsSync(join(REPO, 'dist', MAN_PAGE_FILE))).toBe(true);
  });
});
