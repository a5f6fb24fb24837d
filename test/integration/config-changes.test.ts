import { describe, expect, it } from 'vitest';
import { hostIptablesVariant, LAB_BINS, leaseToml, networkToml } from '../helpers/lab-config.js';
import { type Lab, UPSTREAM } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';
import { useLab } from '../helpers/use-lab.js';

const req = needs({ root: true, bins: LAB_BINS });
const save = `iptables-${hostIptablesVariant()}-save`;

async function bridgeInfo(lab: Lab, name = 'virbr10') {
  const [link] = JSON.parse(await lab.mustRun(['ip', '-j', '-d', 'addr', 'show', 'dev', name]));
  return {
    stp: link.linkinfo.info_data.stp_state as number,
    forwardDelay: link.linkinfo.info_data.forward_delay as number,
    addresses: (link.addr_info as { family: string; local: string; prefixlen: number }[])
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`),
  };
}

describe.skipIf(!req.ok)(`network options and config changes applied by up${req.reason}`, () => {
  const lab = useLab();

  it('outbound = "wan0": MASQUERADE only out of wan0, and NAT works', async () => {
    lab().writeConfig(networkToml({ firewall: 'iptables', extra: ['outbound = "wan0"'] }) + leaseToml({ vm: 'vm1', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01' }));
    const up = await lab().cli(['up']);
    expect(up.code, up.all).toBe(0);
    const masq = (await lab().iptablesSave(save)).split('\n').filter((l) => l.includes('MASQUERADE'));
    expect(masq.length).toBeGreaterThan(0);
    for (const l of masq) expect(l).toContain('-o wan0');
    const g = await lab().addGuest({ mac: '52:54:00:aa:bb:01' });
    expect(await lab().dhcp(g)).toBe('192.168.100.10');
    const rt = await lab().roundTrip({ serverNs: lab().upstream, clientNs: g.ns, ip: UPSTREAM.peerIp, port: 8080, proto: 'tcp' });
    expect(rt.peerSaw, rt.clientError).toBe(UPSTREAM.routerIp);
  });

  it('a new address/subnet replaces the old one everywhere (bridge, rules, dnsmasq)', async () => {
    const pidsBefore = await lab().dnsmasqPids();
    lab().writeConfig(networkToml({ firewall: 'iptables', address: '192.168.50.1/24', dhcpRange: '192.168.50.100-192.168.50.200' }));
    const up = await lab().cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect((await bridgeInfo(lab())).addresses).toEqual(['192.168.50.1/24']);
    const rules = await lab().iptablesSave(save);
    expect(rules).toContain('192.168.50.0/24');
    expect(rules).not.toContain('192.168.100.');
    const pids = await lab().dnsmasqPids();
    expect(pids).toHaveLength(1);
    expect(pids).not.toEqual(pidsBefore);
    expect((await lab().cli(['status'])).code).toBe(0);
  });

  it("the handbook's STP on / forward delay 2 is available", async () => {
    lab().writeConfig(networkToml({ firewall: 'iptables', extra: ['stp = true', 'forward_delay = 2'] }));
    const up = await lab().cli(['up']);
    expect(up.code, up.all).toBe(0);
    const info = await bridgeInfo(lab());
    expect(info.stp).toBe(1);
    expect(info.forwardDelay).toBe(200);
    expect((await lab().cli(['status'])).code).toBe(0);
  });

  it('turning STP off is applied to the running bridge', async () => {
    lab().writeConfig(networkToml({ firewall: 'iptables' }));
    const up = await lab().cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect((await bridgeInfo(lab())).stp).toBe(0);
  });
});
