/**
 * A guest that keeps talking: a simulated VM (a veth port of the bridge like a tap, in its own
 * namespace, known to up as a running VM's tap through its hook record) pings the upstream peer
 * through NAT every 20 ms while each kind of change is applied with `up`. At most 2 replies may
 * be missing per change; the bridge keeps its ifindex (except on a rename); the guest keeps its
 * address and dnsmasq its lease. A bridge up creates never opens before the tap joins it: a port
 * joining an open bridge without carrier leaves the bridge's queue unready for a moment (the
 * router's ARP request for the guest dropped: 1 s without replies until the retry).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsmasqPaths, layoutOf } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS, leaseToml, type NetworkOptions, networkToml } from '../helpers/lab-config.js';
import { type Guest, Lab, UPSTREAM, wait } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';
import { addRunningVm, LinkMonitor, Pinger, txDropped } from '../helpers/running-vm.js';

const req = needs({ root: true, bins: LAB_BINS });
const MAC = '52:54:00:aa:bb:01';
const IP = '192.168.100.10';
const MAX_MISSING = 2;

describe.skipIf(!req.ok)(`a running guest keeps talking while up applies changes${req.reason}`, () => {
  let lab: Lab;
  let guest: Guest;
  let pinger: Pinger | null = null;
  const lease = leaseToml({ vm: 'web', ip: IP, mac: MAC });
  let current: NetworkOptions = { firewall: 'iptables' };

  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create({ guestSubnet: '192.168.0.0/16' });
    lab.writeConfig(networkToml(current) + lease);
    await lab.mustCli(['up']);
    guest = await addRunningVm(lab, 'web', { mac: MAC });
    expect(await lab.dhcp(guest)).toBe(IP);
    pinger = await Pinger.start(guest.ns, UPSTREAM.peerIp);
    expect(await pinger.answeredAfter(5), 'the guest reaches the upstream peer through NAT').toBeGreaterThan(5);
  });
  afterAll(async () => {
    await pinger?.stop();
    await lab?.cleanup();
  });

  const ifindex = async (bridge: string) => JSON.parse(await lab.mustRun(['ip', '-j', 'link', 'show', 'dev', bridge]))[0].ifindex as number;
  const guestAddresses = async () =>
    (JSON.parse(await lab.mustRun(['ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0'], guest.ns))[0].addr_info as { local: string }[]).map((a) => a.local);
  const leaseKept = () => readFileSync(dnsmasqPaths(layoutOf({ config: lab.configPath, stateDir: lab.stateDir }), 'natnet').leases, 'utf8');

  /** Applies the change with up while the guest pings; returns the seqs that got no reply. */
  async function whilePinging(change: NetworkOptions): Promise<number[]> {
    const p = pinger!;
    current = { ...current, ...change };
    lab.writeConfig(networkToml(current) + lease);
    const before = p.highest();
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    // replies flow again well after up returned: every gap in between counts
    await wait(300);
    const after = await p.answeredAfter(p.highest() + 5);
    expect(after, 'replies after the change').toBeGreaterThan(before + 5);
    return p.missing(before, after);
  }

  const cases: [string, NetworkOptions, boolean][] = [
    ['firewall iptables -> nftables', { firewall: 'nftables' }, true],
    ['firewall nftables -> iptables', { firewall: 'iptables' }, true],
    ['DHCP range', { dhcpRange: '192.168.100.100-192.168.100.200' }, true],
    ['lease time', { extra: ['lease_time = "2h"'] }, true],
    ['prefix /24 -> /16 keeping the gateway', { address: '192.168.100.1/16' }, true],
  ];
  for (const [label, change, sameBridge] of cases) {
    it(`${label}: at most ${MAX_MISSING} replies missing, bridge kept, address and lease kept`, async () => {
      const bridge = current.bridge ?? 'virbr10';
      const index = await ifindex(bridge);
      const missing = await whilePinging(change);
      expect(missing.length, `missing seqs: ${missing.join(', ')}`).toBeLessThanOrEqual(MAX_MISSING);
      if (sameBridge) expect(await ifindex(bridge), 'bridge ifindex unchanged').toBe(index);
      expect(await guestAddresses()).toEqual([IP]);
      expect(leaseKept()).toContain(MAC);
      expect(leaseKept()).toContain(IP);
    });
  }

  it(`domain (dnsmasq restart only): at most ${MAX_MISSING} replies missing`, async () => {
    const index = await ifindex('virbr10');
    const p = pinger!;
    lab.writeConfig(networkToml(current).replace('domain = "natnet"', 'domain = "lab"') + lease);
    const before = p.highest();
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(up.stdout).not.toMatch(/bridge|rules/);
    await wait(300);
    const after = await p.answeredAfter(p.highest() + 5);
    expect(p.missing(before, after).length).toBeLessThanOrEqual(MAX_MISSING);
    expect(await ifindex('virbr10')).toBe(index);
    expect(leaseKept()).toContain(MAC);
    lab.writeConfig(networkToml(current) + lease);
    await lab.mustCli(['up']);
  });

  it(`up repairs a deleted bridge: at most ${MAX_MISSING} replies missing counted from when up returns (a pinger started then)`, async () => {
    const links = await LinkMonitor.start(lab);
    try {
      await lab.mustRun(['ip', 'link', 'del', 'virbr10']);
      const up = await lab.cli(['up']);
      expect(up.code, up.all).toBe(0);
      expect(up.stdout).toMatch(/link set vnet1 master virbr10/);
    } finally {
      await links.stop();
    }
    expect(links.openWithoutCarrier('virbr10'), 'virbr10 opened before the tap joined it').toEqual([]);
    const fresh = await Pinger.start(guest.ns, UPSTREAM.peerIp);
    try {
      await wait(1000);
      const hi = await fresh.answeredAfter(40);
      expect(hi).toBeGreaterThan(40);
      const missing = fresh.missing(-1, hi);
      expect(missing.length, `missing seqs: ${missing.join(', ')}`).toBeLessThanOrEqual(MAX_MISSING);
      expect(await txDropped(lab, 'virbr10'), 'packets the router sent on the new virbr10 and the kernel dropped').toBe(0);
    } finally {
      await fresh.stop();
    }
    expect(await guestAddresses()).toEqual([IP]);
    expect(leaseKept()).toContain(MAC);
    // the long-running pinger resumes too
    const now = pinger!.highest();
    expect(await pinger!.answeredAfter(now + 5)).toBeGreaterThan(now + 5);
  });

  it(`bridge rename virbr10 -> virbr11: the tap moves, at most ${MAX_MISSING} replies missing`, async () => {
    const links = await LinkMonitor.start(lab);
    let missing: number[];
    try {
      missing = await whilePinging({ bridge: 'virbr11' });
    } finally {
      await links.stop();
    }
    expect(missing.length, `missing seqs: ${missing.join(', ')}`).toBeLessThanOrEqual(MAX_MISSING);
    expect(links.openWithoutCarrier('virbr11'), 'virbr11 opened before the tap moved to it').toEqual([]);
    expect(await txDropped(lab, 'virbr11'), 'packets the router sent on virbr11 and the kernel dropped').toBe(0);
    expect((await lab.links()).find((l) => l.startsWith('vnet1 '))).toContain('master=virbr11');
    expect((await lab.links()).some((l) => l.startsWith('virbr10 '))).toBe(false);
    expect(await guestAddresses()).toEqual([IP]);
    expect(leaseKept()).toContain(MAC);
  });

  it('up repairs the renamed bridge after it was deleted: the VM (its record names virbr10) is back on virbr11', async () => {
    await lab.mustRun(['ip', 'link', 'del', 'virbr11']);
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(up.stdout).toMatch(/link set vnet1 master virbr11/);
    const now = pinger!.highest();
    expect(await pinger!.answeredAfter(now + 5), 'the guest talks again').toBeGreaterThan(now + 5);
    expect(await guestAddresses()).toEqual([IP]);
  });
});
