/**
 * Issue 7, item 10, against the built CLI in a lab namespace: lease MACs must be unicast,
 * lease_time at least dnsmasq's two minutes, VM names are one VM whatever their Unicode form
 * (NFC), and two VMs whose derived host names collide are an error naming both.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS, leaseToml } from '../helpers/lab-config.js';
import { Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';
import { type CaseDir, caseDir, expectOneLineFailure, runCli } from './cli-cases.js';

const req = needs({ root: true, bins: LAB_BINS });
const NFC = 'caf\u00e9';
const NFD = 'cafe\u0301';

describe.skipIf(!req.ok)(`validation: MACs, lease_time, VM names, host names${req.reason}`, () => {
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

  const leaseFiles = (c: CaseDir) => (existsSync(c.leasesDir) ? readdirSync(c.leasesDir) : []);
  const list = async (c: CaseDir) => {
    const r = await runCli(lab, c, ['lease', 'list', '--json']);
    expect(r.code, r.all).toBe(0);
    return JSON.parse(r.stdout) as { vm: string; ip: string; hostname: string | null }[];
  };

  describe('lease MACs are unicast', () => {
    for (const [mac, what] of [
      ['01:00:5e:00:00:01', 'not a multicast one'],
      ['33:33:00:00:00:01', 'not a multicast one'],
      ['ff:ff:ff:ff:ff:ff', 'not the broadcast address'],
      ['00:00:00:00:00:00', 'not all zeros'],
    ]) {
      it(`lease add --mac ${mac}: exit 3, nothing written`, async () => {
        const c = caseDir(lab);
        const r = await runCli(lab, c, ['lease', 'add', 'vm1', '192.168.100.10', '--mac', mac]);
        expect(expectOneLineFailure(r, { code: 3, lines: 1 })[0]).toBe(`natnet-hook: command line: mac[0] = "${mac}": expected a unicast MAC, ${what}${what.includes('multicast') ? ' (the first octet must be even)' : ''}`);
        expect(leaseFiles(c)).toEqual([]);
      });
    }

    it('in a leases.d file: up exits 3, nothing applied', async () => {
      const c = caseDir(lab);
      const r0 = await runCli(lab, c, ['lease', 'add', 'vm1', '192.168.100.10', '--mac', '52:54:00:aa:bb:01']);
      expect(r0.code, r0.all).toBe(0);
      const file = join(c.leasesDir, leaseFiles(c)[0]);
      const text = readFileSync(file, 'utf8').replace('52:54:00:aa:bb:01', 'ff:ff:ff:ff:ff:ff');
      writeFileSync(file, text);
      const r = await runCli(lab, c, ['up']);
      expect(expectOneLineFailure(r, { code: 3, lines: 1 })[0]).toBe(`natnet-hook: ${file}: mac[0] = "ff:ff:ff:ff:ff:ff": expected a unicast MAC, not the broadcast address`);
      expect(await lab.snapshot()).toEqual(pristine);
    });
  });

  describe('lease_time', () => {
    for (const t of ['0', '60', '1m']) {
      it(`"${t}" is refused by up (dnsmasq would silently serve 2 minutes)`, async () => {
        const c = caseDir(lab, `[[network]]\nlease_time = "${t}"\n`);
        const r = await runCli(lab, c, ['up']);
        expect(expectOneLineFailure(r, { code: 3, lines: 1 })[0]).toContain(`network[0].lease_time = "${t}": expected at least 2m`);
        expect(await lab.snapshot()).toEqual(pristine);
      });
    }
    for (const t of ['2m', '120', 'infinite']) {
      it(`"${t}" is accepted`, async () => {
        const c = caseDir(lab, `[[network]]\nlease_time = "${t}"\n`);
        const r = await runCli(lab, c, ['plan']);
        expect(r.code, r.all).toBe(0);
      });
    }
  });

  describe('a VM name in NFC and NFD form is one VM', () => {
    it('lease add in one form, then the other, replaces the same file; lease rm in either form removes it', async () => {
      const c = caseDir(lab);
      expect((await runCli(lab, c, ['lease', 'add', NFC, '192.168.100.10'])).code).toBe(0);
      const r = await runCli(lab, c, ['lease', 'add', NFD, '192.168.100.11']);
      expect(r.code, r.all).toBe(0);
      expect(leaseFiles(c)).toHaveLength(1);
      expect(await list(c)).toMatchObject([{ vm: NFC, ip: '192.168.100.11' }]);
      const rm = await runCli(lab, c, ['lease', 'rm', NFD]);
      expect(rm.code, rm.all).toBe(0);
      expect(leaseFiles(c)).toEqual([]);
    });

    it('the same VM in config (NFC) and leases.d (NFD) without MACs: one lease per VM, exit 3', async () => {
      const c = caseDir(lab, leaseToml({ vm: NFC, ip: '192.168.100.10' }));
      const r0 = await runCli(lab, c, ['lease', 'add', NFD, '192.168.100.11']);
      expect(expectOneLineFailure(r0, { code: 3, lines: 1 })[0]).toContain('expected one lease per VM');
    });

    it('a VM started under its NFD name gets the reservation written in NFC (real DHCP)', async () => {
      const c = caseDir(lab);
      expect((await runCli(lab, c, ['lease', 'add', NFC, '192.168.100.10'])).code).toBe(0);
      const xml = readFileSync(join(REPO, 'test', 'fixtures', 'libvirt', 'qemu-bridge-prepare.xml'), 'utf8').replace('<name>lv-vm1</name>', `<name>${NFD}</name>`);
      try {
        const hook = await runCli(lab, c, ['hook', 'qemu', NFD, 'prepare', 'begin', '-'], { input: xml, timeout: 60 });
        expect(hook.code, hook.all).toBe(0);
        const g = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
        expect(await lab.dhcp(g, { hostname: 'x' }), lab.guestLog(g)).toBe('192.168.100.10');
        const status = JSON.parse((await runCli(lab, c, ['status', '--json'])).stdout) as { networks: { reservations: { vm: string; hostname: string }[] }[] };
        expect(status.networks[0].reservations).toMatchObject([{ vm: NFC, hostname: 'cafe' }]);
      } finally {
        await runCli(lab, c, ['down'], { timeout: 60 });
      }
    });
  });

  describe('derived host names that collide', () => {
    it('lease add web-1 after web_1: exit 3 naming both; a hostname of its own resolves it', async () => {
      const c = caseDir(lab);
      expect((await runCli(lab, c, ['lease', 'add', 'web_1', '192.168.100.10'])).code).toBe(0);
      const r = await runCli(lab, c, ['lease', 'add', 'web-1', '192.168.100.11']);
      const [line] = expectOneLineFailure(r, { code: 3, lines: 1 });
      expect(line).toContain('vm = "web-1"');
      expect(line).toContain('(vm "web_1", derived from its name)');
      expect(line).toContain('host name "web-1"');
      expect(leaseFiles(c)).toHaveLength(1);
      const ok = await runCli(lab, c, ['lease', 'add', 'web-1', '192.168.100.11', '--hostname', 'web-one']);
      expect(ok.code, ok.all).toBe(0);
      expect((await list(c)).map((l) => [l.vm, l.hostname]).sort()).toEqual([
        ['web-1', 'web-one'],
        ['web_1', null],
      ]);
    });

    it('in the config: up exits 3 naming both VMs, nothing applied', async () => {
      const c = caseDir(lab, leaseToml({ vm: 'Web1', ip: '192.168.100.10' }) + leaseToml({ vm: 'web1', ip: '192.168.100.11' }));
      const before = await lab.snapshot(); // the DHCP test above left its guest's port
      const r = await runCli(lab, c, ['up']);
      const [line] = expectOneLineFailure(r, { code: 3, lines: 1 });
      expect(line).toMatch(/lease\[1\]\.vm = "web1": .*vm "Web1"/);
      expect(await lab.snapshot()).toEqual(before);
    });
  });
});
