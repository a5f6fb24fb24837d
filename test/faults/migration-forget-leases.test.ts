import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsmasqPaths, layoutOf } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { exec, Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

/**
 * `release end migrated` on the source forgets the VM's dnsmasq leases only in the networks the
 * VM was on: another network whose lease file also holds one of its MACs keeps its dnsmasq
 * (same pid, never stopped) and its lease file; the VM's own network has its dnsmasq running
 * again afterwards. Real dnsmasq in a router namespace; the hook sequence replayed with the XML
 * a real libvirtd passed (test/fixtures/libvirt).
 */
const req = needs({ root: true, bins: LAB_BINS });
const FIX = join(REPO, 'test/fixtures/libvirt');
const fixture = (name: string) => readFileSync(join(FIX, `${name}.xml`), 'utf8');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAC = '52:54:00:e3:e0:01'; // the captured VM's
const second = networkToml({ name: 'lab', bridge: 'virbr11', address: '192.168.101.1/24', dhcpRange: '192.168.101.128-192.168.101.254' }).replace(
  '52:54:00:7e:27:af',
  '52:54:00:7e:27:b0',
);

describe.skipIf(!req.ok)(`migrated away: leases forgotten only in the VM's networks${req.reason}`, () => {
  let lab: Lab;
  const layout = () => layoutOf({ config: lab.configPath, stateDir: lab.stateDir }, {});
  const leasesOf = (net: string) => readFileSync(dnsmasqPaths(layout(), net).leases, 'utf8');
  const pidOf = (net: string) => Number(readFileSync(dnsmasqPaths(layout(), net).pid, 'utf8').trim());
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const hook = (argv: string[], xml: string) =>
    exec(['ip', 'netns', 'exec', lab.router, 'env', '-i', `PATH=${PATH}`, `NATNET_HOOK_CONFIG=${lab.configPath}`, `NATNET_HOOK_STATE_DIR=${lab.stateDir}`, process.execPath, join(REPO, 'hooks/qemu'), ...argv], {
      input: xml,
    });

  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml({ firewall: 'iptables' }) + second);
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('the other network keeps its dnsmasq (same pid) and its lease of that MAC; the VM’s network forgets it and runs dnsmasq again', async () => {
    const later = Math.floor(Date.now() / 1000) + 3600;
    for (const [net, ip] of [['natnet', '192.168.100.10'], ['lab', '192.168.101.200']]) {
      const f = dnsmasqPaths(layout(), net).leases;
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, `${later} ${MAC} ${ip} vm1 *\n`);
    }
    await lab.mustCli(['up']);
    expect(await lab.dnsmasqPids()).toHaveLength(2);
    const labPid = pidOf('lab');

    const prepare = fixture('qemu-migrate').replace("<domain type='qemu'>", "<domain type='qemu' id='1'>");
    const running = prepare.replace("<source bridge='virbr10'/>", "<source bridge='virbr10'/>\n      <target dev='vnet1'/>");
    for (const op of ['prepare', 'start', 'started']) {
      const r = await hook(['vm1', op, 'begin', '-'], op === 'prepare' ? prepare : running);
      expect([op, r.code, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
    }
    for (const [op, extra] of [['stopped', '-'], ['release', 'migrated']]) {
      const r = await hook(['vm1', op, 'end', extra], fixture('qemu-migrated-release'));
      expect([op, r.code, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
    }

    expect(leasesOf('natnet')).not.toContain(MAC);
    expect(alive(pidOf('natnet'))).toBe(true);
    expect(pidOf('lab')).toBe(labPid);
    expect(alive(labPid)).toBe(true);
    expect(leasesOf('lab')).toContain(`${MAC} 192.168.101.200`);
    expect(await lab.dnsmasqPids()).toHaveLength(2);
  });
});
