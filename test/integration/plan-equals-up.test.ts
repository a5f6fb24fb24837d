/**
 * `plan` = `up`: for every kind of change, the steps `plan` prints are exactly the actions the
 * following `up` reports (same lines, same order), notes included, and a second `plan` then has
 * nothing to do. A running VM (a guest with its hook record) sits on the bridge throughout, so
 * a rename has a tap to move.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS, leaseToml, type NetworkOptions, networkToml } from '../helpers/lab-config.js';
import { type CliResult, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';
import { addRunningVm } from '../helpers/running-vm.js';

const req = needs({ root: true, bins: LAB_BINS });

/** The step lines and notes of `plan`/`up` output, without the done/would-do header. */
function stepsOf(r: CliResult): string[] {
  return r.stdout.split('\n').filter((l) => l.startsWith('  - ') || l.startsWith('  note: '));
}

const base: NetworkOptions = { firewall: 'iptables' };
const lease = leaseToml({ vm: 'web', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01' });

describe.skipIf(!req.ok)(`plan prints exactly the steps up then runs${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create({ guestSubnet: '192.168.0.0/16' });
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  /** Applies a change, then: plan, up, same step lines; a second plan has nothing to do. */
  async function planThenUp(change: () => Promise<void> | void, opts: { expectSteps?: RegExp } = {}): Promise<string[]> {
    await change();
    const plan = await lab.cli(['plan']);
    expect(plan.code, plan.all).toBe(0);
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(stepsOf(up), `plan:\n${plan.stdout}\nup:\n${up.stdout}`).toEqual(stepsOf(plan));
    expect(stepsOf(up).length, up.stdout).toBeGreaterThan(0);
    expect(plan.stdout.replace(/would do:/g, 'done:')).toBe(up.stdout);
    if (opts.expectSteps) expect(up.stdout).toMatch(opts.expectSteps);
    const again = await lab.cli(['plan']);
    expect(again.stdout, again.all).toMatch(/nothing to change/);
    expect(stepsOf(again)).toEqual([]);
    return stepsOf(up);
  }

  const config = (o: NetworkOptions = {}, extra = '') => () => lab.writeConfig(networkToml({ ...base, ...o }) + extra);

  it('first up (iptables)', async () => {
    await planThenUp(config(), { expectSteps: /create bridge virbr10/ });
    await addRunningVm(lab, 'web', { mac: '52:54:00:aa:bb:01' });
  });

  it('a lease added: reservations and a SIGHUP only', async () => {
    const steps = await planThenUp(config({}, lease));
    expect(steps.map((s) => s.split(':')[0])).toEqual(['  - reservations', '  - reload reservations (SIGHUP)']);
  });

  it('DHCP range', async () => {
    await planThenUp(config({ dhcpRange: '192.168.100.100-192.168.100.200' }, lease), { expectSteps: /restart dnsmasq/ });
  });

  it('lease time', async () => {
    await planThenUp(config({ dhcpRange: '192.168.100.100-192.168.100.200', extra: ['lease_time = "2h"'] }, lease));
  });

  it('domain', async () => {
    await planThenUp(() => lab.writeConfig(networkToml({ ...base, dhcpRange: '192.168.100.100-192.168.100.200' }).replace('domain = "natnet"', 'domain = "lab"') + lease));
  });

  it('prefix /24 -> /16 keeping the gateway', async () => {
    await planThenUp(config({ address: '192.168.100.1/16', dhcpRange: '192.168.100.100-192.168.100.200' }, lease), {
      expectSteps: /addr add 192\.168\.100\.1\/16 dev virbr10; addr del 192\.168\.100\.1\/24 dev virbr10/,
    });
  });

  it('a new gateway', async () => {
    await planThenUp(config({ address: '192.168.100.2/16', dhcpRange: '192.168.100.100-192.168.100.200' }, lease));
  });

  it('stp and forward delay', async () => {
    await planThenUp(config({ address: '192.168.100.2/16', dhcpRange: '192.168.100.100-192.168.100.200', extra: ['stp = true', 'forward_delay = 2'] }, lease));
    await planThenUp(config({ address: '192.168.100.2/16', dhcpRange: '192.168.100.100-192.168.100.200' }, lease));
  });

  it('firewall iptables -> nftables: new rules first, then the old ones go; the bridge stays', async () => {
    const steps = await planThenUp(config({ firewall: 'nftables', address: '192.168.100.2/16', dhcpRange: '192.168.100.100-192.168.100.200' }, lease));
    expect(steps[0]).toMatch(/^ {2}- apply nftables rules of natnet:/);
    expect(steps[1]).toMatch(/^ {2}- remove iptables rules of natnet:/);
    // with iptables-nft: the nat/filter tables its rules created go once empty, as on down
    for (const s of steps.slice(2)) expect(s).toMatch(/remove empty iptables-nft (table|chain) .* that up created/);
  });

  it('firewall nftables -> iptables', async () => {
    const steps = await planThenUp(config({ address: '192.168.100.2/16', dhcpRange: '192.168.100.100-192.168.100.200' }, lease));
    expect(steps[0]).toMatch(/apply iptables rules of natnet/);
    expect(steps[1]).toMatch(/remove nft table of natnet/);
  });

  it('deleted bridge: recreated with the running VM tap back on it', async () => {
    await planThenUp(() => lab.mustRun(['ip', 'link', 'del', 'virbr10']).then(() => {}), { expectSteps: /link set vnet1 master virbr10/ });
  });

  it('bridge rename: the running VM tap moves, the old bridge goes last', async () => {
    const steps = await planThenUp(config({ bridge: 'virbr11', address: '192.168.100.2/16', dhcpRange: '192.168.100.100-192.168.100.200' }, lease));
    expect(steps.join('\n')).toMatch(/link set vnet1 master virbr11/);
    expect(steps.at(-1)).toMatch(/link del virbr10/);
    expect((await lab.links()).find((l) => l.startsWith('vnet1 '))).toContain('master=virbr11');
  });

  it('deleted bridge after the rename: the VM whose record names virbr10 gets its tap back on virbr11', async () => {
    await planThenUp(() => lab.mustRun(['ip', 'link', 'del', 'virbr11']).then(() => {}), { expectSteps: /link set vnet1 master virbr11/ });
  });

  it('killed dnsmasq', async () => {
    await planThenUp(async () => {
      for (const pid of await lab.dnsmasqPids()) process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
    }, { expectSteps: /start dnsmasq/ });
  });

  describe('the IPv6 side', () => {
    const v4 = { bridge: 'virbr11', address: '192.168.100.2/16', dhcpRange: '192.168.100.100-192.168.100.200' };
    it('ipv6 on (auto: plan shows the prefix up then generates and keeps)', async () => {
      await planThenUp(config({ ...v4, extra: ['ipv6 = "auto"'] }, lease), { expectSteps: /addr add fd[0-9a-f:]+:1::1\/64 dev virbr11 nodad[\s\S]*enable IPv6 forwarding/ });
    });

    it('stateless -> stateful: dnsmasq restarts, nothing else', async () => {
      const steps = await planThenUp(config({ ...v4, extra: ['ipv6 = "auto"', 'dhcpv6 = "stateful"'] }, lease), { expectSteps: /restart dnsmasq/ });
      expect(steps.join('\n')).not.toMatch(/addr|sysctl|IPv6 setting/);
    });

    it('prefix change: the new address is added and the old one goes', async () => {
      await planThenUp(config({ ...v4, extra: ['ipv6 = "fd00:1:2:3::1/64"'] }, lease), {
        expectSteps: /addr add fd00:1:2:3::1\/64 dev virbr11 nodad; addr del fd[0-9a-f:]+:1::1\/64 dev virbr11/,
      });
    });

    it('ipv6 off: our address goes (forwarding stays until the last down, like IPv4)', async () => {
      await planThenUp(config(v4, lease), { expectSteps: /addr del fd00:1:2:3::1\/64 dev virbr11/ });
    });
  });

  it('down, then up', async () => {
    await planThenUp(() => lab.mustCli(['down']).then(() => {}), { expectSteps: /create bridge virbr11/ });
  });

  it('first up (nftables) after down', async () => {
    await lab.mustCli(['down']);
    await planThenUp(config({ firewall: 'nftables' }, lease), { expectSteps: /apply nftables rules/ });
  });

  it('network renamed on the same bridge: its dnsmasq hands over, links and rules stay', async () => {
    const steps = await planThenUp(() => lab.writeConfig(networkToml({ firewall: 'nftables', name: 'natnet2' }) + lease));
    expect(steps.join('\n')).not.toMatch(/bridge|rules/);
    expect(steps.join('\n')).toMatch(/stop dnsmasq of natnet \(renamed to natnet2\)/);
    // the running VM is still on the bridge: down refuses without --force (test/integration/down-running.test.ts)
    const down = await lab.cli(['down', '--force']);
    expect(down.code, down.all).toBe(0);
    expect((await lab.links()).some((l) => l.startsWith('virbr10 '))).toBe(false);
  });
});
