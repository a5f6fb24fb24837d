import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS, leaseToml, networkToml } from '../helpers/lab-config.js';
import { type Guest, Lab, wait } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';
import { isAlive } from '../../src/selftest/topology.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`a killed dnsmasq is restarted by up with its leases kept${req.reason}`, () => {
  let lab: Lab;
  let g1: Guest;
  let g2: Guest;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml() + leaseToml({ vm: 'vm1', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01' }));
    await lab.mustCli(['up']);
    g1 = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
    g2 = await lab.addGuest({ mac: '52:54:00:aa:bb:02' });
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('status reports the dead dnsmasq, up restarts it, the pool lease survives', async () => {
    expect(await lab.dhcp(g1)).toBe('192.168.100.10');
    const poolIp = await lab.dhcp(g2, { hostname: 'vm2' });
    expect(poolIp).toMatch(/^192\.168\.100\.\d+$/);

    const [pid] = await lab.dnsmasqPids();
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && isAlive(pid); i++) await wait(20);

    const st = await lab.cli(['status']);
    expect(st.code, st.all).not.toBe(0);
    expect(st.all).toMatch(/dnsmasq/i);

    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    const pids = await lab.dnsmasqPids();
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(pid);

    const leases = Object.entries(lab.stateFiles() ?? {}).filter(([f, t]) => /lease/i.test(f) && t.includes('52:54:00:aa:bb:02'));
    expect(leases.length, 'the lease file still holds the pool lease').toBeGreaterThan(0);
    // The restarted dnsmasq knows the lease: the guest asks again and gets the same address.
    expect(await lab.dhcp(g2, { hostname: 'vm2' })).toBe(poolIp);
    expect(await lab.dhcp(g1)).toBe('192.168.100.10');
    expect((await lab.cli(['status'])).code).toBe(0);
  });
});
