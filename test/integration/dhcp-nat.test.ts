import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS, leaseToml } from '../helpers/lab-config.js';
import { DEFAULT_NET, type Guest, Lab, UPSTREAM } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

const inPool = (ip: string | null) => !!ip && /^192\.168\.100\.(\d+)$/.test(ip) && Number(ip.split('.')[3]) >= 128;

describe.skipIf(!req.ok)(`guests on the default network: reservations, pool, NAT, live lease add${req.reason}`, () => {
  let lab: Lab;
  let g1: Guest;
  let g2: Guest;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    // Empty config = the built-in default network; one reservation in the config, none for g2.
    lab.writeConfig(`# built-in default network\n${leaseToml({ vm: 'vm1', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01', hostname: 'vm1' })}`);
    await lab.mustCli(['up']);
    g1 = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
    g2 = await lab.addGuest({ mac: '52:54:00:aa:bb:02' });
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('a guest with a reservation gets its reserved IP', async () => {
    expect(await lab.dhcp(g1), lab.guestLog(g1)).toBe('192.168.100.10');
  });

  it('a guest without one gets a pool IP', async () => {
    await lab.startDhcpDaemon(g2, { hostname: 'vm2' });
    const ip = await lab.waitForIp(g2, (ip) => ip !== null);
    expect(inPool(ip), `got ${ip}: ${lab.guestLog(g2)}`).toBe(true);
  });

  it('NAT: the upstream peer sees the router address (tcp and udp)', async () => {
    for (const proto of ['tcp', 'udp'] as const) {
      const rt = await lab.roundTrip({ serverNs: lab.upstream, clientNs: g1.ns, ip: UPSTREAM.peerIp, port: 8080, proto });
      expect(rt.peerSaw, `${proto}: ${rt.clientError}`).toBe(UPSTREAM.routerIp);
    }
  });

  it('VM to VM traffic is bridged, not NATed', async () => {
    const rt = await lab.roundTrip({ serverNs: g1.ns, clientNs: g2.ns, ip: '192.168.100.10', port: 9000, proto: 'tcp' });
    expect(rt.peerSaw, rt.clientError).toBe(lab.ipOf(g2));
  });

  it('inbound connections from upstream are rejected', async () => {
    const rt = await lab.roundTrip({ serverNs: g1.ns, clientNs: lab.upstream, ip: '192.168.100.10', port: 9000, proto: 'tcp' });
    expect(rt.connected).toBe(false);
    expect(rt.peerSaw).toBeNull();
    expect(rt.clientError).toMatch(/refused/i);
  });

  it('lease add while dnsmasq runs: the guest renews into the reserved IP, dnsmasq is not restarted', async () => {
    const pids = await lab.dnsmasqPids();
    expect(pids).toHaveLength(1);
    const add = await lab.cli(['lease', 'add', 'vm2', '192.168.100.20', '--mac', g2.mac, '--hostname', 'vm2']);
    expect(add.code, add.all).toBe(0);
    // `lease add` returns once dnsmasq is sent SIGHUP; dnsmasq re-reads the hostsfile in its event
    // loop, so a renewal that gets there first can be ACKed with the old address (seen once, under load).
    // The next renewal gets the reservation: renew again until it does, at most 3 times.
    let ip: string | null = null;
    for (let i = 0; i < 3 && ip !== '192.168.100.20'; i++) {
      lab.renew(g2);
      ip = await lab.waitForIp(g2, (ip) => ip === '192.168.100.20', 7);
    }
    expect(ip, lab.guestLog(g2)).toBe('192.168.100.20');
    expect(await lab.dnsmasqPids()).toEqual(pids);

    const list = await lab.cli(['lease', 'list', '--json']);
    expect(list.code, list.all).toBe(0);
    const text = list.stdout;
    expect(text).toContain('192.168.100.20');
    expect(text).toContain('192.168.100.10');
  });

  it('DNS answers the reserved VM names under the domain', async () => {
    const r = await lab.run(['busybox', 'nslookup', `vm1.${DEFAULT_NET.domain}`, DEFAULT_NET.gateway], g2.ns);
    expect(r.stdout.split(/^Name:/m).slice(1).join('\n'), r.stdout + r.stderr).toContain('192.168.100.10');
  });

  it('lease rm removes the leases.d file and the reservation, live (same dnsmasq)', async () => {
    const pids = await lab.dnsmasqPids();
    const rm = await lab.cli(['lease', 'rm', 'vm2']);
    expect(rm.code, rm.all).toBe(0);
    expect(existsSync(join(lab.leasesDir, 'vm2.toml'))).toBe(false);
    const list = await lab.cli(['lease', 'list', '--json']);
    expect(list.stdout).not.toContain('192.168.100.20');
    expect(list.stdout).toContain('192.168.100.10');
    const hosts = Object.entries(lab.stateFiles() ?? {}).filter(([f, t]) => f.endsWith('.hosts') || t.includes('52:54:00:aa:bb:01,'));
    for (const [f, t] of hosts) expect(t, f).not.toContain(g2.mac);
    expect(await lab.dnsmasqPids()).toEqual(pids);
  });
});
