import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/engine/status.js';
import { assertBuilt, LAB_BINS, leaseToml } from '../helpers/lab-config.js';
import { type Guest, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`status shows every piece and exits non-zero when degraded${req.reason}`, () => {
  let lab: Lab;
  let g1: Guest;
  const status = async () => {
    const r = await lab.cli(['status', '--json']);
    return { code: r.code, net: (JSON.parse(r.stdout) as StatusReport).networks[0], all: r.all };
  };
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(leaseToml({ vm: 'vm1', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01', hostname: 'vm1' }));
    await lab.mustCli(['up']);
    g1 = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
    if ((await lab.dhcp(g1)) !== '192.168.100.10') throw new Error(`no reserved lease: ${lab.guestLog(g1)}`);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('healthy: bridge, dummy (or why not), forwarding, rules, dnsmasq, reservations, active leases, ports', async () => {
    const { code, net, all } = await status();
    expect(code, all).toBe(0);
    expect(net.bridge).toMatchObject({ name: 'virbr10', up: true, mac: '52:54:00:7e:27:af', stp: false });
    expect(net.bridge.addresses).toContain('192.168.100.1/24');
    expect(JSON.stringify(net.bridge.ports)).toContain(`"${g1.port}"`);
    expect(net.dummy.name).toBe('virbr10-nic');
    // healthy means the dummy is an up port of the bridge, or the kernel has no dummy netdev (and says why)
    if (net.dummy.state === 'unsupported') expect(net.dummy.why).toBeTruthy();
    else expect(net.dummy).toEqual({ name: 'virbr10-nic', state: 'ok', why: null });
    expect(net.forwarding).toBe(true);
    expect(net.firewall.ok).toBe(true);
    expect(net.dnsmasq.alive).toBe(true);
    expect(await lab.dnsmasqPids()).toEqual([net.dnsmasq.pid]);
    expect(net.dnsmasq.listening.length).toBeGreaterThan(0);
    expect(net.reservations.map((r) => r.ip)).toContain('192.168.100.10');
    expect(JSON.stringify(net.leases)).toContain('192.168.100.10');

    const text = await lab.cli(['status']);
    expect(text.code).toBe(0);
    for (const word of ['virbr10', '52:54:00:7e:27:af', '192.168.100.1/24', 'dnsmasq']) expect(text.stdout).toContain(word);
  });

  it('a bridge set down by someone else: degraded, non-zero; up repairs it', async () => {
    await lab.mustRun(['ip', 'link', 'set', 'virbr10', 'down']);
    const bad = await status();
    expect(bad.code, bad.all).not.toBe(0);
    expect(bad.net.bridge.up).toBe(false);
    expect((await lab.cli(['up'])).code).toBe(0);
    expect((await status()).code).toBe(0);
  });

  it('ip_forward turned off: degraded; up repairs it', async () => {
    await lab.mustRun(['sysctl', '-qw', 'net.ipv4.ip_forward=0']);
    const bad = await status();
    expect(bad.code, bad.all).not.toBe(0);
    expect(bad.net.forwarding).toBe(false);
    expect((await lab.cli(['up'])).code).toBe(0);
    expect((await status()).code).toBe(0);
  });

  it('an extra rule in our own chain/table is reported as unexpected', async () => {
    const save = await lab.iptablesSave();
    const chain = /^-A (\S+) .*MASQUERADE/m.exec(save)?.[1];
    expect(chain, save).toBeDefined();
    await lab.mustRun(['iptables', '-w', '-t', 'nat', '-A', chain!, '-s', '10.1.2.0/24', '-j', 'RETURN']);
    const bad = await status();
    expect(bad.code, bad.all).not.toBe(0);
    expect(JSON.stringify(bad.net.firewall.extra)).toContain('10.1.2.0/24');
    expect((await lab.cli(['up'])).code).toBe(0);
    expect((await status()).code).toBe(0);
    expect(await lab.iptablesSave()).not.toContain('10.1.2.0/24');
  });
});
