/**
 * natnet-hook on a host that also runs Docker 28: Docker's rules (FORWARD policy DROP,
 * DOCKER-USER, DOCKER-FORWARD and its chains) are written by the test in the router namespace as
 * Docker writes them. For both of natnet-hook's backends: guests reach upstream through NAT and
 * each other, inbound stays rejected, our tagged accepts sit at the top of DOCKER-USER, a Docker
 * restart that resets its chains is repaired by `up`, and `down` leaves Docker's rules as they were.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerRestart, dockerStart } from '../helpers/docker28.js';
import { assertBuilt, hostIptablesVariant, LAB_BINS, leaseToml, networkToml } from '../helpers/lab-config.js';
import { exec, type Guest, Lab, UPSTREAM } from '../helpers/netns.js';
import { inNs } from '../../src/selftest/exec.js';
import { appliedFile, layoutOf } from '../../src/state/layout.js';
import { needs } from '../helpers/requirements.js';

const variant = hostIptablesVariant();
const req = needs({ root: true, bins: [...LAB_BINS, `ip6tables-${variant}-restore`] });

const TAG = '-m comment --comment "natnet-hook virbr10" -j ACCEPT';

/** DOCKER-USER lines of an iptables-save text. */
const dockerUser = (save: string) => save.split('\n').filter((l) => l.startsWith('-A DOCKER-USER '));

for (const firewall of ['iptables', 'nftables'] as const) {
  describe.skipIf(!req.ok)(`Docker 28 on the same host, natnet-hook firewall = ${firewall}${req.reason}`, () => {
    let lab: Lab;
    let g1: Guest;
    let g2: Guest;
    let before: { v4: string; v6: string };
    const save = () => lab.iptablesSave(`iptables-${variant}-save`);
    const save6 = () => lab.iptablesSave(`ip6tables-${variant}-save`);

    beforeAll(async () => {
      assertBuilt();
      lab = await Lab.create();
      await writeRules(lab, dockerStart(), false);
      await writeRules(lab, dockerStart(true), true);
      before = { v4: await save(), v6: await save6() };
      lab.writeConfig(networkToml({ firewall }) + leaseToml({ vm: 'vm1', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01' }));
      await lab.mustCli(['up']);
      g1 = await lab.addGuest({ mac: '52:54:00:aa:bb:01' });
      g2 = await lab.addGuest({ mac: '52:54:00:aa:bb:02' });
    });
    afterAll(async () => {
      await lab?.cleanup();
    });

    it('our tagged accepts sit at the top of DOCKER-USER, above Docker\'s RETURN; the policy stays DROP', async () => {
      const v4 = await save();
      const nfCall = (await lab.mustRun(['cat', '/proc/sys/net/bridge/bridge-nf-call-iptables']).catch(() => '0')).trim() === '1';
      expect(dockerUser(v4)).toEqual([
        ...(nfCall ? [`-A DOCKER-USER -i virbr10 -o virbr10 ${TAG}`] : []),
        `-A DOCKER-USER -s 192.168.100.0/24 -i virbr10 ${TAG}`,
        `-A DOCKER-USER -d 192.168.100.0/24 -o virbr10 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT ${TAG}`,
        '-A DOCKER-USER -j RETURN',
      ]);
      expect(v4).toMatch(/^:FORWARD DROP/m);
      // the network is IPv4 only: ip6tables' DOCKER-USER stays as Docker left it
      expect(await save6()).toBe(before.v6);
    });

    it('status reports Docker\'s firewall and our accepts; the network is healthy', async () => {
      const r = await lab.cli(['status', '--json']);
      expect(r.code, r.all).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s.docker.found).toBe(true);
      expect(s.docker.iptablesVariant).toBe(variant);
      expect(s.docker.families.find((f: { family: string }) => f.family === 'ipv4')).toMatchObject({ dockerUser: true, forwardPolicy: 'DROP' });
      expect(s.networks[0].state).toBe('healthy');
      expect(s.networks[0].docker).toEqual([{ family: 'ipv4', state: 'present', missing: [], extra: [] }]);
      const text = await lab.cli(['status']);
      expect(text.stdout).toMatch(/^docker: firewall found: iptables-\w+: FORWARD policy DROP, DOCKER-USER present/m);
      expect(text.stdout).toMatch(/ok {3}docker {4}iptables DOCKER-USER: natnet-hook accepts present/);
    });

    it('guests reach upstream through NAT and each other; inbound is still rejected', async () => {
      expect(await lab.dhcp(g1)).toBe('192.168.100.10');
      const ip2 = await lab.dhcp(g2);
      expect(ip2).not.toBeNull();
      const nat = await lab.roundTrip({ serverNs: lab.upstream, clientNs: g1.ns, ip: UPSTREAM.peerIp, port: 8080, proto: 'tcp' });
      expect(nat.peerSaw, nat.clientError).toBe(UPSTREAM.routerIp);
      const vmvm = await lab.roundTrip({ serverNs: g2.ns, clientNs: g1.ns, ip: ip2!, port: 9000, proto: 'tcp' });
      expect(vmvm.peerSaw, vmvm.clientError).toBe('192.168.100.10');
      const inbound = await lab.roundTrip({ serverNs: g1.ns, clientNs: lab.upstream, ip: '192.168.100.10', port: 9001, proto: 'tcp' });
      expect(inbound.connected).toBe(false);
      expect(inbound.peerSaw).toBeNull();
    });

    it('Docker restarts and resets its chains: status shows the missing accepts, plan = up puts them back', async () => {
      await writeRules(lab, dockerRestart(), false);
      expect(dockerUser(await save())).toEqual(['-A DOCKER-USER -j RETURN']);
      const st = JSON.parse((await lab.cli(['status', '--json'])).stdout);
      expect(st.networks[0].state).toBe('degraded');
      expect(st.networks[0].problems.join('\n')).toMatch(/DOCKER-USER lacks natnet-hook's accepts for virbr10/);
      if (firewall === 'nftables') {
        // the control: an accept in our own nft table does not override Docker's DROP
        const cut = await lab.roundTrip({ serverNs: lab.upstream, clientNs: g1.ns, ip: UPSTREAM.peerIp, port: 8082, proto: 'tcp' });
        expect(cut.connected).toBe(false);
      }
      const plan = await lab.mustCli(['plan']);
      expect(plan.stdout).toMatch(/add accepts for virbr10 in Docker's iptables DOCKER-USER/);
      const up = await lab.mustCli(['up']);
      expect(up.stdout.replace(/done:/g, 'would do:')).toBe(plan.stdout.replace(/done:/g, 'would do:'));
      expect(dockerUser(await save()).at(-1)).toBe('-A DOCKER-USER -j RETURN');
      expect(dockerUser(await save()).filter((l) => l.includes('natnet-hook virbr10')).length).toBeGreaterThanOrEqual(2);
      const nat = await lab.roundTrip({ serverNs: lab.upstream, clientNs: g1.ns, ip: UPSTREAM.peerIp, port: 8081, proto: 'tcp' });
      expect(nat.peerSaw, nat.clientError).toBe(UPSTREAM.routerIp);
      expect((await lab.cli(['plan'])).stdout).toMatch(/nothing to change/);
    });

    if (firewall === 'iptables') {
      it('the network moves to another bridge: plan = up adds the new bridge\'s accepts and removes the old ones', async () => {
        lab.writeConfig(networkToml({ firewall, bridge: 'virbr11' }) + leaseToml({ vm: 'vm1', ip: '192.168.100.10', mac: '52:54:00:aa:bb:01' }));
        const plan = await lab.mustCli(['plan']);
        expect(plan.stdout).toMatch(/add accepts for virbr11 in Docker's iptables DOCKER-USER/);
        expect(plan.stdout).toMatch(/remove accepts for virbr10 from Docker's iptables DOCKER-USER/);
        const up = await lab.mustCli(['up']);
        expect(up.stdout.replace(/done:/g, 'would do:')).toBe(plan.stdout.replace(/done:/g, 'would do:'));
        const lines = dockerUser(await save());
        expect(lines.some((l) => l.includes('natnet-hook virbr10'))).toBe(false);
        expect(lines.filter((l) => l.includes('natnet-hook virbr11')).length).toBeGreaterThanOrEqual(2);
        expect(lines.at(-1)).toBe('-A DOCKER-USER -j RETURN');
      });
    } else {
      it('a bad applied record: down still finds our accepts by their tag', async () => {
        writeFileSync(appliedFile(layoutOf({ config: lab.configPath, stateDir: lab.stateDir }, {}), 'natnet'), '{"truncated');
      });
    }

    it('down leaves Docker\'s rules exactly as they were, and forwarding on (Docker relies on it)', async () => {
      const down = await lab.mustCli(['down']);
      expect(await save()).toBe(before.v4);
      expect(await save6()).toBe(before.v6);
      // up turned forwarding on (it was off in the fresh namespace); with Docker's firewall present the last down leaves it
      expect(down.stdout + down.stderr).toMatch(/left forwarding on although it was off before up: Docker's firewall/);
      expect((await lab.mustRun(['cat', '/proc/sys/net/ipv4/ip_forward'])).trim()).toBe('1');
    });
  });
}

async function writeRules(lab: Lab, text: string, ipv6: boolean): Promise<void> {
  const r = await exec(inNs(lab.router, [`${ipv6 ? 'ip6' : 'ip'}tables-${hostIptablesVariant()}-restore`, '-w', '--noflush']), { input: text });
  expect(r.code, r.stderr).toBe(0);
}
