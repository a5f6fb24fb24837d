import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/engine/status.js';
import { existsSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { inNs } from '../../src/selftest/exec.js';
import { type RoundTrip, roundTrip } from '../../src/selftest/probes.js';
import { killPids } from '../../src/selftest/topology.js';
import { spawnBackground } from '../../src/sys/spawn.js';
import { assertBuilt, hostIptablesVariant, LAB_BINS, leaseToml, networkToml } from '../helpers/lab-config.js';
import { exec, type Guest, Lab, UPSTREAM, wait } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

const WEB = '192.168.100.10';
const [major, minor] = release().split('.').map(Number);
const perNetnsBridgeSysctls = major > 5 || (major === 5 && minor >= 3);
const GATEWAY = '192.168.100.1';

/** Forwards to vm "web": tcp remap, udp on one listen address, a range, one limited to a source network. */
const FORWARDS = `
[[forward]]
vm = "web"
port = "8080"
to_port = "80"

[[forward]]
vm = "web"
proto = "udp"
port = "5353"
listen = "${UPSTREAM.routerIp}"

[[forward]]
vm = "web"
port = "8000-8002"

[[forward]]
vm = "web"
port = "9000"
source = ["198.51.100.0/24"]
`;

for (const backend of [{ firewall: 'iptables' as const, env: {} }, { firewall: 'nftables' as const, env: {} }]) {
  describe.skipIf(!req.ok)(`port forwards to a VM (${backend.firewall})${req.reason}`, () => {
    let lab: Lab;
    let web: Guest;
    let other: Guest;
    let before: Awaited<ReturnType<Lab['hostState']>>;
    const trip = (o: { clientNs: string; port: number; proto?: 'tcp' | 'udp'; listenPort?: number; ip?: string }): Promise<RoundTrip> =>
      roundTrip(exec, { serverNs: web.ns, clientNs: o.clientNs, ip: o.ip ?? UPSTREAM.routerIp, port: o.port, proto: o.proto ?? 'tcp', listenPort: o.listenPort });

    beforeAll(async () => {
      assertBuilt();
      lab = await Lab.create();
      before = await lab.hostState();
      lab.writeConfig(
        networkToml({ firewall: backend.firewall }) +
          leaseToml({ vm: 'web', ip: WEB, mac: '52:54:00:aa:bb:01' }) +
          leaseToml({ vm: 'other', ip: '192.168.100.11', mac: '52:54:00:aa:bb:02' }) +
          FORWARDS,
      );
      await lab.mustCli(['up'], { env: backend.env });
      web = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
      other = await lab.addGuest({ mac: '52:54:00:aa:bb:02' });
      if ((await lab.dhcp(web)) !== WEB) throw new Error(`web got no reserved lease: ${lab.guestLog(web)}`);
      if ((await lab.dhcp(other)) !== '192.168.100.11') throw new Error(`other got no reserved lease: ${lab.guestLog(other)}`);
    });
    afterAll(async () => {
      await lab?.cleanup();
    });

    it('the upstream peer reaches the VM through the uplink address, and the VM sees the peer (tcp remap, udp on a listen address, a range)', async () => {
      const tcp = await trip({ clientNs: lab.upstream, port: 8080, listenPort: 80 });
      expect(tcp.peerSaw, tcp.clientError).toBe(UPSTREAM.peerIp);
      const udp = await trip({ clientNs: lab.upstream, port: 5353, proto: 'udp' });
      expect(udp.peerSaw, udp.clientError).toBe(UPSTREAM.peerIp);
      const range = await trip({ clientNs: lab.upstream, port: 8001 });
      expect(range.peerSaw, range.clientError).toBe(UPSTREAM.peerIp);
    });

    it('hairpin: another VM and the router reach the forward through the uplink address', async () => {
      const fromOther = await trip({ clientNs: other.ns, port: 8080, listenPort: 80 });
      expect(fromOther.connected, fromOther.clientError).toBe(true);
      expect(fromOther.peerSaw).toBe(GATEWAY);
      const fromRouter = await trip({ clientNs: lab.router, port: 8080, listenPort: 80 });
      expect(fromRouter.connected, fromRouter.clientError).toBe(true);
      expect(fromRouter.peerSaw).toBe(UPSTREAM.routerIp);
    });

    // With br_netfilter (bridge-nf-call-iptables=1, e.g. on Docker hosts), a DNAT back out the
    // bridge is "bridged DNAT": the frame is bridged to the target's port, and a bridge never sends
    // a frame back out the port it came in on. Without it (a plain libvirt host) the packet is routed.
    // the sysctl is per network namespace from Linux 5.3 on; before, changing it would touch the host
    it.skipIf(!perNetnsBridgeSysctls)('the VM reaches its own forward through the uplink address (host without br_netfilter)', async () => {
      const sysctl = '/proc/sys/net/bridge/bridge-nf-call-iptables';
      const had = (await lab.run(['cat', sysctl])).stdout.trim();
      if (had === '1') await lab.mustRun(['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0']);
      try {
        const fromItself = await trip({ clientNs: web.ns, port: 8080, listenPort: 80 });
        expect(fromItself.connected, fromItself.clientError).toBe(true);
        expect(fromItself.peerSaw).toBe(GATEWAY);
      } finally {
        if (had === '1') await lab.mustRun(['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1']);
      }
    });

    it('the bridge address is not forwarded, and a peer outside `source` is refused', async () => {
      const toBridge = await trip({ clientNs: other.ns, port: 8001, ip: GATEWAY });
      expect(toBridge.connected).toBe(false);
      expect(toBridge.peerSaw).toBeNull();
      const outside = await trip({ clientNs: lab.upstream, port: 9000 });
      expect(outside.connected).toBe(false);
      expect(outside.peerSaw).toBeNull();
    });

    it('status lists every forward with no drift; up again changes nothing', async () => {
      const r = await lab.cli(['status', '--json'], { env: backend.env });
      expect(r.code, r.all).toBe(0);
      const net = (JSON.parse(r.stdout) as StatusReport).networks[0];
      expect(net.firewall.ok).toBe(true);
      const text = await lab.cli(['status'], { env: backend.env });
      expect(text.stdout).toContain(`*:8080/tcp -> web ${WEB}:80`);
      expect(text.stdout).toContain(`${UPSTREAM.routerIp}:5353/udp -> web ${WEB}:5353`);
      const again = await lab.cli(['up', '-v'], { env: backend.env });
      expect(again.code, again.all).toBe(0);
      expect(again.all).not.toMatch(/apply|repair/);
    });

    it('forward add/rm apply live: the removed one stops, the others keep working', async () => {
      await lab.mustCli(['forward', 'add', 'web', '7000', '--to', '7001'], { env: backend.env });
      const added = await trip({ clientNs: lab.upstream, port: 7000, listenPort: 7001 });
      expect(added.peerSaw, added.clientError).toBe(UPSTREAM.peerIp);
      const dup = await lab.cli(['forward', 'add', 'other', '7000'], { env: backend.env });
      expect(dup.code).toBe(3);
      expect(dup.all).toContain('"web"');
      expect(existsSync(join(lab.leasesDir, 'other.toml'))).toBe(false);
      const bad = await lab.cli(['forward', 'add', 'other', '80-90/tcp', '--to', '1-2', '--listen', 'x', '--source', '10.0.0.0/40'], { env: backend.env });
      expect(bad.code).toBe(3);
      expect(bad.stderr.trim().split('\n')).toEqual([
        expect.stringContaining('to_port = "1-2": expected one port, or as many ports as port has (11; this has 2)'),
        expect.stringContaining('listen = "x": expected an IPv4 address'),
        expect.stringContaining('source[0] = "10.0.0.0/40": expected an IPv4 CIDR'),
      ]);
      expect(existsSync(join(lab.leasesDir, 'other.toml'))).toBe(false);

      await lab.mustCli(['forward', 'rm', 'web', '7000'], { env: backend.env });
      const gone = await trip({ clientNs: lab.upstream, port: 7000, listenPort: 7001 });
      expect(gone.peerSaw).toBeNull();
      const still = await trip({ clientNs: lab.upstream, port: 8080, listenPort: 80 });
      expect(still.peerSaw, still.clientError).toBe(UPSTREAM.peerIp);
      const list = await lab.mustCli(['forward', 'list', '--json']);
      expect((JSON.parse(list.stdout) as { port: string }[]).map((f) => f.port)).toEqual(['8080', '5353', '8000-8002', '9000']);
    });

    it('plan shows the rule a new forward adds, and changes nothing', async () => {
      lab.writeLeaseFile('other', '[[forward]]\nvm = "other"\nport = "6000"\n');
      const plan = await lab.cli(['plan'], { env: backend.env });
      expect(plan.code, plan.all).toBe(0);
      expect(plan.stdout).toMatch(/\+ .*dport 6000 .*192\.168\.100\.11/);
      const gone = await trip({ clientNs: lab.upstream, port: 6000 });
      expect(gone.peerSaw).toBeNull();
      rmSync(join(lab.leasesDir, 'other.toml'));
    });

    it('a host port also bound by a listening socket on the host: a warning in up, a problem in status', async () => {
      const listener = await spawnBackground(inNs(lab.router, ['socat', 'TCP-LISTEN:8002,reuseaddr', '-']));
      try {
        for (let i = 0; i < 50 && !(await lab.run(['ss', '-Hltn', 'sport = :8002'])).stdout.trim(); i++) await wait(50);
        const up = await lab.cli(['up'], { env: backend.env });
        expect(up.code, up.all).toBe(0);
        expect(up.stderr).toContain('host port 8002/tcp is also bound by a listening socket on 0.0.0.0');
        const st = await lab.cli(['status'], { env: backend.env });
        expect(st.code).toBe(4);
        expect(st.stdout).toMatch(/FAIL \*:8000-8002\/tcp -> web .*also bound/);
      } finally {
        await killPids([listener.pid]);
      }
    });

    it('down leaves the namespace as it was before up', async () => {
      await lab.mustCli(['down'], { env: backend.env });
      // the guests' veths stay attached to nothing: compare what the engine owns
      const after = await lab.hostState([web.port, other.port]);
      expect({ ...after, links: undefined }).toEqual({ ...before, links: undefined });
      expect(hostIptablesVariant()).toMatch(/nft|legacy/);
    });
  });
}
