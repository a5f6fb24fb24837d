import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInstall } from '../../src/commands/install.js';
import { makeContext } from '../../src/engine/context.js';
import { silentLogger } from '../../src/log.js';
import { assertBuilt, backendCases, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { BIN, exec, Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const UNIT = 'natnet-hook-listen.service';
const analyze = needs({ bins: ['systemd-analyze'] });

/** The listener unit as `install --root` writes it (default paths, or --config/--state-dir baked in). */
async function installedUnit(root: string, o: { config?: string; stateDir?: string } = {}): Promise<string> {
  const ctx = makeContext({ ...o, log: silentLogger(), env: {} });
  await runInstall(ctx, { root, node: '/usr/bin/node', print: () => {} });
  return join(root, 'etc/systemd/system', UNIT);
}

describe.skipIf(!analyze.ok)(`the installed listener unit is hardened${analyze.reason}`, () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'nn-unit-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('systemd-analyze security --offline=yes rates it 5.0 or better', async () => {
    const unit = await installedUnit(join(root, 'default'));
    const r = await exec(['systemd-analyze', 'security', '--offline=yes', '--no-pager', unit]);
    const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout + r.stderr);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThanOrEqual(5.0);
  });

  it('systemd-analyze verify is clean, with the default paths and with --config/--state-dir baked in', async () => {
    for (const [name, o] of [
      ['default', {}],
      ['baked', { config: '/srv/natnet/config.toml', stateDir: '/srv/natnet/state' }],
    ] as const) {
      const unit = await installedUnit(join(root, name), o);
      const r = await exec(['systemd-analyze', 'verify', unit]);
      expect([r.code, r.stderr.trim()], name).toEqual([0, '']);
    }
    const baked = readFileSync(join(root, 'baked/etc/systemd/system', UNIT), 'utf8');
    expect(baked).toMatch(/^ExecStart=\/usr\/bin\/node \/usr\/lib\/natnet-hook\/current\/bin\/natnet-hook --config \/srv\/natnet\/config\.toml --state-dir \/srv\/natnet\/state listen$/m);
    // ProtectSystem=strict: the listener can still write what it owns
    expect(baked).toMatch(/^ReadWritePaths=-\/srv\/natnet -\/srv\/natnet\/state \/proc\/sys\/net$/m);
    expect(baked).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  });
});

const lab = needs({ root: true, bins: [...LAB_BINS, 'setpriv'] });

/** CapabilityBoundingSet= of the unit template, as setpriv's --bounding-set list. */
function boundingSet(): string {
  const text = readFileSync(join(REPO, 'install/systemd', UNIT), 'utf8');
  const caps = /^CapabilityBoundingSet=(.*)$/m.exec(text)?.[1].trim().split(/\s+/) ?? [];
  return ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}

describe.skipIf(!lab.ok)(`the unit's capability set is what up, status and down need (real engine and dnsmasq)${lab.reason}`, () => {
  for (const backend of backendCases()) {
    it(`${backend.label}: up, status, down succeed under exactly CapabilityBoundingSet= with NoNewPrivileges=`, async () => {
      assertBuilt();
      const l = await Lab.create();
      try {
        l.writeConfig(networkToml({ firewall: backend.firewall }));
        const run = (cmd: string) =>
          l.run(['env', ...Object.entries(backend.env ?? {}).map(([k, v]) => `${k}=${v}`), 'setpriv', '--bounding-set', boundingSet(), '--no-new-privs', '--', process.execPath, BIN, '--config', l.configPath, '--state-dir', l.stateDir, cmd]);
        const up = await run('up');
        expect(up.code, up.stdout + up.stderr).toBe(0);
        const status = await run('status');
        expect(status.code, status.stdout + status.stderr).toBe(0);
        // the dnsmasq that up started runs as nobody: stopping it needs CAP_KILL
        const pids = await l.dnsmasqPids();
        expect(pids.length).toBeGreaterThan(0);
        const down = await run('down');
        expect(down.code, down.stdout + down.stderr).toBe(0);
        expect(await l.dnsmasqPids()).toEqual([]);
      } finally {
        await l.cleanup();
      }
    });
  }
});
