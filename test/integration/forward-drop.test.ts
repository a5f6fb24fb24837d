import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, hostIptablesVariant, LAB_BINS, leaseToml, networkToml } from '../helpers/lab-config.js';
import { Lab, UPSTREAM } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`iptables backend on a host whose FORWARD policy is DROP${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    // Like Docker does: policy DROP in the router namespace, before natnet-hook comes.
    await lab.mustRun([`iptables-${hostIptablesVariant()}`, '-w', '-P', 'FORWARD', 'DROP']);
    lab.writeConfig(networkToml({ firewall: 'iptables' }) + leaseToml({ vm: 'vm1', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01' }));
    await lab.mustCli(['up']);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('guests still reach upstream (NATed) and each other; the policy stays DROP', async () => {
    const g1 = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
    const g2 = await lab.addGuest({ mac: '52:54:00:aa:bb:02' });
    expect(await lab.dhcp(g1)).toBe('192.168.100.10');
    const ip2 = await lab.dhcp(g2);
    expect(ip2).not.toBeNull();
    const nat = await lab.roundTrip({ serverNs: lab.upstream, clientNs: g1.ns, ip: UPSTREAM.peerIp, port: 8080, proto: 'tcp' });
    expect(nat.peerSaw, nat.clientError).toBe(UPSTREAM.routerIp);
    const vmvm = await lab.roundTrip({ serverNs: g2.ns, clientNs: g1.ns, ip: ip2!, port: 9000, proto: 'tcp' });
    expect(vmvm.peerSaw, vmvm.clientError).toBe('192.168.100.10');
    expect(await lab.iptablesSave(`iptables-${hostIptablesVariant()}-save`)).toMatch(/^:FORWARD DROP/m);
  });
});
