/**
 * State read back from disk is input. A bad domain record (`null`, `{}`, truncated, a MAC that
 * smuggles a hostsfile line) or a bad applied record (`{}`, truncated) must not crash any
 * command, must not touch an unrelated VM, is set aside as *.bad and reported by status (exit 4)
 * until removed; `down` still removes what was applied. A record that passes the schema but
 * names someone else's file or interface never gets them deleted.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNs } from '../../src/selftest/exec.js';
import { appliedFile, dnsmasqPaths, domainFile, layoutOf, quarantineFile } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS, leaseToml, networkToml } from '../helpers/lab-config.js';
import { BIN, type CliResult, exec, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

const WEB_MAC = '52:54:00:aa:bb:01';
const EVIL_MAC = '52:54:00:aa:bb:01,id:*,192.168.100.9,evil\n';

function domainXml(vm: string, mac: string): string {
  return `<domain type='kvm'><name>${vm}</name><devices><interface type='bridge'><mac address='${mac}'/><source bridge='virbr10'/><target dev='vnet9'/></interface></devices></domain>`;
}

/** No stack trace, no TypeError: every failure is a line naming the thing. */
function clean(r: CliResult, what: string): void {
  expect(r.stderr, `${what}: ${r.all}`).not.toMatch(/^ {4}at /m);
  expect(r.all, what).not.toMatch(/TypeError|ReferenceError|SyntaxError: Unexpected/);
}

describe.skipIf(!req.ok)(`bad state records are reported, set aside and never trusted${req.reason}`, () => {
  let lab: Lab;
  let layout: ReturnType<typeof layoutOf>;
  const hostState = () => lab.hostState();

  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(
      networkToml() +
        leaseToml({ vm: 'web', ip: '192.168.100.10' }) +
        leaseToml({ vm: 'evil', ip: '192.168.100.20' }) +
        leaseToml({ vm: 'db', ip: '192.168.100.30' }),
    );
    layout = layoutOf({ config: lab.configPath, stateDir: lab.stateDir });
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  const prepare = (vm: string, mac: string) =>
    exec(inNs(lab.router, [process.execPath, BIN, '--config', lab.configPath, '--state-dir', lab.stateDir, 'hook', 'qemu', vm, 'prepare', 'begin', '-']), {
      input: domainXml(vm, mac),
    });

  const domainRecord = (vm: string, mac: string) =>
    `${JSON.stringify({ vm, nics: [{ mac, bridge: 'virbr10' }], metadataLeases: [], running: true, updated: new Date().toISOString() })}\n`;

  const badDomains: [string, string][] = [
    ['null', 'null\n'],
    ['{}', '{}\n'],
    ['truncated', domainRecord('evil', '52:54:00:aa:bb:02').slice(0, 40)],
    ['a MAC carrying a hostsfile line', domainRecord('evil', EVIL_MAC)],
  ];

  for (const [name, text] of badDomains) {
    it(`domain record ${name}: status/up/lease list/prepare work, it is set aside and reported, its content never served`, async () => {
      const before = await hostState();
      const web = domainFile(layout, 'web');
      const evil = domainFile(layout, 'evil');
      // prepare of web records its MAC and brings the network up
      const p1 = await prepare('web', WEB_MAC);
      expect(p1.code, p1.stderr).toBe(0);
      expect(existsSync(web)).toBe(true);
      writeFileSync(evil, text);

      const status = await lab.cli(['status']);
      clean(status, 'status');
      expect(status.code, status.all).toBe(4);
      expect(status.stdout).toContain(`${quarantineFile(evil)}: `);
      expect(existsSync(evil)).toBe(false);
      expect(existsSync(quarantineFile(evil))).toBe(true);

      writeFileSync(evil, text);
      const up = await lab.cli(['up']);
      clean(up, 'up');
      expect(up.code, up.all).toBe(0);
      const list = await lab.cli(['lease', 'list']);
      clean(list, 'lease list');
      expect(list.code, list.all).toBe(0);
      writeFileSync(evil, text);
      const p2 = await prepare('db', '52:54:00:aa:bb:03');
      clean({ ...p2, all: p2.stdout + p2.stderr }, 'prepare db');
      expect(p2.code, `an unrelated VM starts: ${p2.stderr}`).toBe(0);

      const hosts = readFileSync(dnsmasqPaths(layout, 'natnet').hosts, 'utf8');
      expect(hosts).toContain(WEB_MAC);
      expect(hosts).toContain('52:54:00:aa:bb:03');
      expect(hosts).not.toMatch(/evil|192\.168\.100\.9,/);
      expect(hosts.trim().split('\n'), 'one line per reserved VM with a known MAC').toHaveLength(2);

      const again = await lab.cli(['status']);
      expect(again.code, 'reported until removed').toBe(4);
      rmSync(quarantineFile(evil));
      const healthy = await lab.cli(['status']);
      expect(healthy.code, healthy.all).toBe(0);

      await lab.mustCli(['down']);
      rmSync(web);
      rmSync(domainFile(layout, 'db'), { force: true });
      expect(await hostState()).toEqual(before);
    });
  }

  const badApplied: [string, (real: string) => string][] = [
    ['{}', () => '{}\n'],
    ['truncated', (real) => real.slice(0, Math.floor(real.length / 2))],
    ['empty', () => ''],
  ];

  for (const [name, spoil] of badApplied) {
    it(`applied record ${name}: status names it (exit 4), down removes what up applied`, async () => {
      const before = await hostState();
      await lab.mustCli(['up']);
      const file = appliedFile(layout, 'natnet');
      writeFileSync(file, spoil(readFileSync(file, 'utf8')));

      const status = await lab.cli(['status']);
      clean(status, 'status');
      expect(status.code, status.all).toBe(4);
      expect(status.stdout).toContain(`${quarantineFile(file)}: `);

      const down = await lab.cli(['down']);
      clean(down, 'down');
      expect(down.code, down.all).toBe(0);
      expect(down.stdout).toContain(quarantineFile(file));
      expect(await hostState()).toEqual(before);
      rmSync(quarantineFile(file));
    });

    it(`applied record ${name}, then up again: the network is adopted and a later down removes it`, async () => {
      const before = await hostState();
      await lab.mustCli(['up']);
      const file = appliedFile(layout, 'natnet');
      writeFileSync(file, spoil(readFileSync(file, 'utf8')));
      const up = await lab.cli(['up']);
      clean(up, 'up');
      expect(up.code, up.all).toBe(0);
      expect(await lab.dnsmasqPids()).toHaveLength(1);
      await lab.mustCli(['down']);
      expect(await hostState()).toEqual(before);
      rmSync(quarantineFile(file));
    });
  }

  it('an applied record naming another file as a dnsmasq path: down never deletes it', async () => {
    const before = await hostState();
    await lab.mustCli(['up']);
    const victim = `${lab.dir}/victim.txt`;
    writeFileSync(victim, 'keep me\n');
    const file = appliedFile(layout, 'natnet');
    const rec = JSON.parse(readFileSync(file, 'utf8'));
    rec.dnsmasq = { conf: victim, pid: victim, hosts: victim, leases: victim };
    writeFileSync(file, JSON.stringify(rec));
    const down = await lab.cli(['down']);
    clean(down, 'down');
    expect(down.code, down.all).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
    expect(await hostState()).toEqual(before);
  });

  it('a stale applied record naming an unrelated veth as its bridge: up and down never delete the veth', async () => {
    // a record left from a config whose bridge had a name that a veth carries now
    await lab.mustCli(['up']);
    const file = appliedFile(layout, 'natnet');
    const rec = JSON.parse(readFileSync(file, 'utf8'));
    await lab.mustCli(['down']);
    await lab.mustRun(['ip', 'link', 'add', 'victim0', 'type', 'veth', 'peer', 'name', 'victim1']);
    const before = await hostState();
    rec.network.bridge = 'victim0';
    rec.links.bridges[0].name = 'victim0';
    for (const f of rec.firewalls) f.bridge = 'victim0';
    writeFileSync(file, JSON.stringify(rec));
    // the record's bridge differs from the config's: up reconciles it as a rename, whose old bridge goes
    const up = await lab.cli(['up']);
    clean(up, 'up');
    expect(up.code, up.all).toBe(0);
    expect(up.stdout).toContain('left victim0: it is a veth, not the bridge we created');
    expect((await lab.links()).some((l) => l.startsWith('victim0 '))).toBe(true);
    await lab.mustCli(['down']);
    expect(await hostState()).toEqual(before);
    await lab.mustRun(['ip', 'link', 'del', 'victim0']);
  });
});
