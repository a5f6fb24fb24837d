/**
 * Docker 28 (its iptables and ip6tables rules, FORWARD policy DROP in both, written by the test as
 * Docker writes them) and a natnet-hook network with IPv6, for both backends: our tagged accepts
 * are in both families' DOCKER-USER (with each family's prefix), the guest reaches an upstream
 * IPv6 peer through NAT66, inbound stays rejected, and `down` leaves Docker's rules as they were.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNs } from '../../src/selftest/exec.js';
import { dockerStart } from '../helpers/docker28.js';
import { roundTrip6 } from '../helpers/ipv6-guest.js';
import { assertBuilt, hostIptablesVariant, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { exec, type Guest, Lab, UPSTREAM } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const variant = hostIptablesVariant();
const req = needs({ root: true, bins: [...LAB_BINS, `ip6tables-${variant}-restore`, 'socat'] });

const PREFIX = 'fd00:1:2:3::/64';
const GATEWAY = 'fd00:1:2:3::1';
const GUEST = 'fd00:1:2:3::10';
const ROUTER_UP = '2001:db8:ffff::1';
const PEER = '2001:db8:ffff::2';
const TAG = '-m comment --comment "natnet-hook virbr10" -j ACCEPT';
const dockerUser = (save: string) => save.split('\n').filter((l) => l.startsWith('-A DOCKER-USER '));

for (const firewall of ['iptables', 'nftables'] as const) {
  describe.skipIf(!req.ok)(`Docker 28 and a network with IPv6, natnet-hook firewall = ${firewall}${req.reason}`, () => {
    let lab: Lab;
    let guest: Guest;
    let before: { v4: string; v6: string };
    const save = () => lab.iptablesSave(`iptables-${variant}-save`);
    const save6 = () => lab.iptablesSave(`ip6tables-${variant}-save`);

    beforeAll(async () => {
      assertBuilt();
      lab = await Lab.create();
      for (const ipv6 of [false, true]) {
        const r = await exec(inNs(lab.router, [`${ipv6 ? 'ip6' : 'ip'}tables-${variant}-restore`, '-w', '--noflush']), { input: dockerStart(ipv6) });
        expect(r.code, r.stderr).toBe(0);
      }
      before = { v4: await save(), v6: await save6() };
      await lab.mustRun(['ip', 'addr', 'add', `${ROUTER_UP}/64`, 'dev', UPSTREAM.routerIf, 'nodad']);
      await lab.mustRun(['ip', 'addr', 'add', `${PEER}/64`, 'dev', 'eth0', 'nodad'], lab.upstream);
      // so that an inbound connection reaches our firewall (and is rejected there)
      await lab.mustRun(['ip', '-6', 'route', 'add', PREFIX, 'via', ROUTER_UP], lab.upstream);
      lab.writeConfig(networkToml({ firewall, extra: [`ipv6 = "${GATEWAY}/64"`, 'ipv6_mode = "nat66"'] }));
      await lab.mustCli(['up']);
      guest = await lab.addGuest();
      await lab.mustRun(['ip', 'addr', 'add', `${GUEST}/64`, 'dev', 'eth0', 'nodad'], guest.ns);
      await lab.mustRun(['ip', '-6', 'route', 'replace', 'default', 'via', GATEWAY], guest.ns);
    });
    afterAll(async () => {
      await lab?.cleanup();
    });

    it("our accepts sit at the top of both families' DOCKER-USER, each with its family's prefix", async () => {
      expect(dockerUser(await save()).filter((l) => l.includes(TAG))).toContainEqual(`-A DOCKER-USER -s 192.168.100.0/24 -i virbr10 ${TAG}`);
      const v6 = dockerUser(await save6());
      expect(v6).toContainEqual(`-A DOCKER-USER -s ${PREFIX} -i virbr10 ${TAG}`);
      expect(v6).toContainEqual(`-A DOCKER-USER -d ${PREFIX} -o virbr10 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT ${TAG}`);
      expect(v6.at(-1)).toBe('-A DOCKER-USER -j RETURN');
      const st = JSON.parse((await lab.cli(['status', '--json'])).stdout);
      expect(st.networks[0].docker.map((d: { family: string; state: string }) => `${d.family} ${d.state}`)).toEqual(['ipv4 present', 'ipv6 present']);
      expect(st.networks[0].state, st.networks[0].problems.join('\n')).toBe('healthy');
    });

    it('the guest reaches the upstream IPv6 peer through NAT66 past ip6tables FORWARD DROP; inbound is rejected', async () => {
      const out = await roundTrip6(lab.upstream, guest.ns, PEER, 8080, GUEST);
      expect(out.connected, out.clientError).toBe(true);
      expect(out.peerSaw).toBe(ROUTER_UP);
      const inbound = await roundTrip6(guest.ns, lab.upstream, GUEST, 9000, PEER);
      expect(inbound.connected).toBe(false);
      expect(inbound.peerSaw).toBeNull();
    });

    it("down leaves Docker's rules in both families exactly as they were", async () => {
      await lab.mustCli(['down']);
      expect(await save()).toBe(before.v4);
      expect(await save6()).toBe(before.v6);
    });
  });
}
