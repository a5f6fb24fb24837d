import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { assertBuilt, LAB_BINS, leaseToml, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

const second = networkToml({
  name: 'lab',
  bridge: 'virbr11',
  address: '192.168.101.1/24',
  dhcpRange: '192.168.101.128-192.168.101.254',
  firewall: 'nftables',
}).replace('52:54:00:7e:27:af', '52:54:00:7e:27:b0');

describe.skipIf(!req.ok)(`two networks side by side; up/down by name${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(
      networkToml({ firewall: 'iptables' }) +
        second +
        leaseToml({ vm: 'a', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01' }) +
        leaseToml({ vm: 'b', ip: '192.168.101.10', mac: '52:54:00:aa:bb:02' }),
    );
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('up brings both; each guest gets the reservation of its own network', async () => {
    const pristine = await lab.snapshot();
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(await lab.dnsmasqPids()).toHaveLength(2);
    const a = await lab.addGuest({ mac: '52:54:00:aa:bb:01', bridge: 'virbr10' });
    const b = await lab.addGuest({ mac: '52:54:00:aa:bb:02', bridge: 'virbr11' });
    expect(await lab.dhcp(a)).toBe('192.168.100.10');
    expect(await lab.dhcp(b)).toBe('192.168.101.10');
    expect(pristine.links).not.toEqual((await lab.snapshot()).links);
  });

  it('down lab removes only that network', async () => {
    const down = await lab.cli(['down', 'lab']);
    expect(down.code, down.all).toBe(0);
    const links = (await lab.links()).map((l) => l.split(' ')[0]);
    expect(links).toContain('virbr10');
    expect(links).not.toContain('virbr11');
    expect(await lab.nftRuleset()).not.toMatch(/192\.168\.101\./);
    expect(await lab.dnsmasqPids()).toHaveLength(1);
    const st = await lab.cli(['status', 'natnet']);
    expect(st.code, st.all).toBe(0);
  });

  it('up of an unknown network is a usage error', async () => {
    const r = await lab.cli(['up', 'nope']);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toContain('nope');
  });
});
