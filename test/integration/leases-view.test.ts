import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsmasqPaths, layoutOf } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS } from '../helpers/lab-config.js';
import { exec, type Guest, Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

/**
 * `natnet-hook leases` against a real dnsmasq: web1 has a reservation (lease add, pinned to its
 * MAC), db takes a pool address and is known by name only from its hook record (prepare).
 */
const req = needs({ root: true, bins: LAB_BINS });
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const WEB = '52:54:00:aa:bb:01';
const DB = '52:54:00:aa:bb:02';

const domainXml = (name: string, mac: string) =>
  readFileSync(join(REPO, 'test/fixtures/libvirt/qemu-bridge-prepare.xml'), 'utf8')
    .replace('<name>lv-vm1</name>', `<name>${name}</name>`)
    .replace('52:54:00:aa:bb:01', mac);

describe.skipIf(!req.ok)(`leases view with a real dnsmasq and two guests${req.reason}`, () => {
  let lab: Lab;
  let web: Guest;
  let db: Guest;
  let dbIp: string | null;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig('');
    await lab.mustCli(['lease', 'add', 'web1', '192.168.100.10', '--mac', WEB]);
    await lab.mustCli(['up']);
    const prepare = await exec(
      ['ip', 'netns', 'exec', lab.router, 'env', '-i', `PATH=${PATH}`, `NATNET_HOOK_CONFIG=${lab.configPath}`, `NATNET_HOOK_STATE_DIR=${lab.stateDir}`, process.execPath, join(REPO, 'hooks/qemu'), 'db', 'prepare', 'begin', '-'],
      { input: domainXml('db', DB) },
    );
    if (prepare.code !== 0) throw new Error(`prepare db: ${prepare.stderr}`);
    web = await lab.addGuest({ mac: WEB });
    db = await lab.addGuest({ mac: DB });
    expect(await lab.dhcp(web, { hostname: 'web1' }), lab.guestLog(web)).toBe('192.168.100.10');
    dbIp = await lab.dhcp(db, { hostname: 'dbhost' });
    expect(dbIp, lab.guestLog(db)).toMatch(/^192\.168\.100\.\d+$/);
  });
  afterAll(async () => {
    await lab?.cli(['down']);
    await lab?.cleanup();
  });

  it('a table with a header row: VM, MAC, IP, hostname, local expiry, reserved or pool', async () => {
    const r = await lab.cli(['leases']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header.split(/\s+/)).toEqual(['NETWORK', 'VM', 'MAC', 'IP', 'HOSTNAME', 'EXPIRES', 'TYPE']);
    expect(rows).toHaveLength(2);
    const cells = rows.map((l) => l.split(/\s{2,}/));
    expect(cells[0]).toEqual(['natnet', 'web1', WEB, '192.168.100.10', 'web1', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), 'reserved']);
    expect(cells[1]).toEqual(['natnet', 'db', DB, dbIp, 'dbhost', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), 'pool']);
  });

  it('--json for one network: the same rows, expiry in UTC', async () => {
    const r = await lab.cli(['leases', 'natnet', '--json']);
    expect(r.code, r.all).toBe(0);
    const rows = JSON.parse(r.stdout);
    expect(rows).toEqual([
      { network: 'natnet', vm: 'web1', mac: WEB, ip: '192.168.100.10', hostname: 'web1', kind: 'reserved', expires: expect.stringMatching(/Z$/) },
      { network: 'natnet', vm: 'db', mac: DB, ip: dbIp, hostname: 'dbhost', kind: 'pool', expires: expect.stringMatching(/Z$/) },
    ]);
    const hours = (Date.parse(rows[0].expires) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(11);
    expect(hours).toBeLessThanOrEqual(12);
  });

  it('a line in the lease file that is not a lease is skipped and named; the rest is shown', async () => {
    const file = dnsmasqPaths(layoutOf({ stateDir: lab.stateDir }, {}), 'natnet').leases;
    appendFileSync(file, 'this is not a lease\n');
    const r = await lab.cli(['leases', '--log-format', 'human']);
    expect(r.code, r.all).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(r.stderr).toMatch(new RegExp(`^warning: ${file} line 3: expiry "this": expected seconds since the epoch \\(skipped\\)\\n$`));
  });

  it('an unknown network is one usage line', async () => {
    const r = await lab.cli(['leases', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('natnet-hook: unknown network "nope" (configured: natnet)\n');
  });

  it('lease list has a header row', async () => {
    const r = await lab.cli(['lease', 'list']);
    expect(r.code, r.all).toBe(0);
    const [header, row] = r.stdout.trimEnd().split('\n');
    expect(header.split(/\s+/)).toEqual(['VM', 'IP', 'MAC', 'HOSTNAME', 'NETWORK', 'SOURCE']);
    expect(row.split(/\s{2,}/).slice(0, 5)).toEqual(['web1', '192.168.100.10', WEB, '-', 'natnet']);
  });
});
