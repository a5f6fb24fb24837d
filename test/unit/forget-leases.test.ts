import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Step } from '../../src/plan/steps.js';

// dnsmasq processes and the steps that stop/start them, simulated: no process is touched
const dnsmasq = vi.hoisted(() => ({ running: [] as number[], steps: [] as string[], onStop: () => {} }));
vi.mock('../../src/observe/procfs.js', async (orig) => ({
  ...(await orig<typeof import('../../src/observe/procfs.js')>()),
  scanOurDnsmasq: () => [...dnsmasq.running],
}));
vi.mock('../../src/apply/execute.js', async (orig) => ({
  ...(await orig<typeof import('../../src/apply/execute.js')>()),
  executeStep: async (_ctx: unknown, step: Step) => {
    dnsmasq.steps.push(step.kind);
    if (step.kind === 'dnsmasq-stop') {
      // dnsmasq writes its database from memory as it exits: a lease it gave out just now
      dnsmasq.onStop();
      dnsmasq.running = [];
    }
    if (step.kind === 'dnsmasq-start') dnsmasq.running = [4242];
    return {};
  },
}));
const apply = vi.hoisted(() => ({ fail: false, networks: [] as string[] }));
vi.mock('../../src/engine/network.js', async (orig) => ({
  ...(await orig<typeof import('../../src/engine/network.js')>()),
  applyNetwork: async (_ctx: unknown, _host: unknown, _config: unknown, net: { name: string }) => {
    apply.networks.push(net.name);
    if (apply.fail) throw new Error('iptables: resource temporarily unavailable');
    return { actions: [], notes: [] };
  },
}));

const { makeContext } = await import('../../src/engine/context.js');
const { forgetLeases } = await import('../../src/engine/forget-leases.js');
const { up } = await import('../../src/engine/index.js');
const { silentLogger } = await import('../../src/log.js');

const GONE = '52:54:00:aa:bb:01';
let dir: string;
const ctx = () => makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger(), env: {} });
const leaseFile = (net = 'natnet') => join(dir, `state/lib/${net}.leases`);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nn-forget-unit-'));
  writeFileSync(
    join(dir, 'config.toml'),
    '[[network]]\nname = "natnet"\nbridge = "virbr10"\naddress = "192.168.100.1/24"\n\n[[network]]\nname = "other"\nbridge = "virbr11"\naddress = "192.168.101.1/24"\nmac = "52:54:00:12:34:56"\n',
  );
  mkdirSync(join(dir, 'state/lib'), { recursive: true });
  Object.assign(dnsmasq, { running: [4242], steps: [], onStop: () => {} });
  Object.assign(apply, { fail: false, networks: [] });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('forgetLeases with dnsmasq running', () => {
  it('stops dnsmasq, THEN reads the file: a lease dnsmasq wrote as it stopped is kept', async () => {
    writeFileSync(leaseFile(), `1900000000 ${GONE} 192.168.100.10 vm1 *\n`);
    dnsmasq.onStop = () => writeFileSync(leaseFile(), `1900000000 ${GONE} 192.168.100.10 vm1 *\n1900000000 52:54:00:aa:bb:02 192.168.100.11 new *\n`);
    const out = await forgetLeases(ctx(), { name: 'natnet' }, { macs: new Set([GONE]), ip6: new Set() });
    expect(out).toEqual({ actions: [`forget dnsmasq lease 192.168.100.10 of ${GONE} (its VM left this host)`], stopped: true });
    expect(readFileSync(leaseFile(), 'utf8')).toBe('1900000000 52:54:00:aa:bb:02 192.168.100.11 new *\n');
  });

  it('nothing of the VM in the file: dnsmasq keeps running', async () => {
    writeFileSync(leaseFile(), '1900000000 52:54:00:aa:bb:02 192.168.100.11 vm2 *\n');
    expect(await forgetLeases(ctx(), { name: 'natnet' }, { macs: new Set([GONE]), ip6: new Set() })).toEqual({ actions: [], stopped: false });
    expect(dnsmasq.steps).toEqual([]);
  });

  it('a network not being applied (mayStop false): its running dnsmasq and its file are left alone', async () => {
    const text = `1900000000 ${GONE} 192.168.100.10 vm1 *\n`;
    writeFileSync(leaseFile(), text);
    expect(await forgetLeases(ctx(), { name: 'natnet' }, { macs: new Set([GONE]), ip6: new Set() }, false)).toEqual({ actions: [], stopped: false });
    expect(dnsmasq.steps).toEqual([]);
    expect(readFileSync(leaseFile(), 'utf8')).toBe(text);
  });
});

describe('up with forgetLeasesOf, dnsmasq running', () => {
  it('the network’s apply fails after its dnsmasq was stopped: dnsmasq is started again, the apply’s error is the one thrown', async () => {
    writeFileSync(leaseFile(), `1900000000 ${GONE} 192.168.100.10 vm1 *\n`);
    apply.fail = true;
    await expect(up(ctx(), { networks: ['natnet'], forgetLeasesOf: [GONE] })).rejects.toThrow('iptables: resource temporarily unavailable');
    expect(dnsmasq.steps).toEqual(['dnsmasq-stop', 'dnsmasq-start']);
    expect(dnsmasq.running).toEqual([4242]);
    expect(readFileSync(leaseFile(), 'utf8')).toBe('');
  });

  it('only the networks applied in this run forget (and have dnsmasq stopped); another configured network is not touched', async () => {
    writeFileSync(leaseFile(), `1900000000 ${GONE} 192.168.100.10 vm1 *\n`);
    const theirs = `1900000000 ${GONE} 192.168.101.10 vm1 *\n`;
    writeFileSync(leaseFile('other'), theirs);
    const changes = await up(ctx(), { networks: ['natnet'], forgetLeasesOf: [GONE] });
    expect(changes).toEqual([{ network: 'natnet', actions: [`forget dnsmasq lease 192.168.100.10 of ${GONE} (its VM left this host)`] }]);
    expect(apply.networks).toEqual(['natnet']);
    expect(readFileSync(leaseFile('other'), 'utf8')).toBe(theirs);
    // the simulated apply starts nothing: the engine starts the dnsmasq it stopped itself
    expect(dnsmasq.steps).toEqual(['dnsmasq-stop', 'dnsmasq-start']);
  });
});
