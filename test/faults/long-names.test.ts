import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStem } from '../../src/state/layout.js';
import { exec, Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

/**
 * Issue 7 item 7: VM names libvirt accepts but whose encoded file name would pass NAME_MAX
 * (50 × "é" = 450 bytes encoded; 300 characters). prepare through the real shim in a lab
 * namespace brings the network up and records the VM; `lease add` writes its leases.d file.
 */
const req = needs({ root: true, bins: ['ip', 'dnsmasq'] });
const NAMES = ['é'.repeat(50), 'v'.repeat(300)];
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const domainXml = (name: string, mac: string) =>
  readFileSync(join(REPO, 'test/fixtures/libvirt/qemu-bridge-prepare.xml'), 'utf8')
    .replace('<name>lv-vm1</name>', `<name>${name}</name>`)
    .replace('52:54:00:aa:bb:01', mac);

describe.skipIf(!req.ok)(`long VM names${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create();
    lab.writeConfig('');
  });
  afterAll(async () => {
    await lab?.cli(['down']);
    await lab?.cleanup();
  });

  const hook = (argv: string[], input: string) =>
    exec(['ip', 'netns', 'exec', lab.router, 'env', '-i', `PATH=${PATH}`, `NATNET_HOOK_CONFIG=${lab.configPath}`, `NATNET_HOOK_STATE_DIR=${lab.stateDir}`, process.execPath, join(REPO, 'hooks/qemu'), ...argv], { input });

  it.each(NAMES.map((n, i) => [n.length, n, i] as const))('a %i-character name: lease add, prepare, started, release, lease rm', async (_len, name, i) => {
    const mac = `52:54:00:aa:cc:0${i + 1}`;
    const add = await lab.cli(['lease', 'add', name, `192.168.100.${20 + i}`, '--mac', mac]);
    expect(add.all).not.toMatch(/ {4}at /);
    expect(add.code).toBe(0);
    expect(readdirSync(lab.leasesDir)).toContain(`${fileStem(name)}.toml`);
    for (const op of ['prepare', 'started', 'release']) {
      const r = await hook([name, op, op === 'release' ? 'end' : 'begin', '-'], domainXml(name, mac));
      expect([op, r.code, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
    }
    const record = join(lab.stateDir, 'lib/domains', `${fileStem(name)}.json`);
    expect(existsSync(record)).toBe(true);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({ vm: name, nics: [{ mac, bridge: 'virbr10' }], running: false });
    expect(Buffer.byteLength(`${fileStem(name)}.json`)).toBeLessThanOrEqual(255);
    const list = await lab.cli(['lease', 'list']);
    expect(list.code).toBe(0);
    const rm = await lab.cli(['lease', 'rm', name]);
    expect([rm.code, rm.all]).toEqual([0, expect.stringContaining('reservation removed')]);
  });
});
