/**
 * IPv6 data path through our firewall, per backend and mode (`up` gives the bridge its address and
 * turns IPv6 forwarding on; the guest has a static address in the prefix besides its SLAAC one): a guest reaches an upstream IPv6
 * peer (nat66: the peer sees the router's uplink address; routed: the guest's own address), an
 * inbound connection from the peer is rejected, status finds no drift (the rendered rules are
 * exactly what ip6tables-save / nft list print), turning IPv6 off removes our IPv6 rules, and
 * `down` leaves ip6tables and nft exactly as before (someone else's IPv6 rules included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, backendCases, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { roundTrip6 } from '../helpers/ipv6-guest.js';
import { type Guest, Lab, UPSTREAM } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'ip6tables-nft', 'ip6tables-legacy'] });

const PREFIX = 'fd00:1:2:3::/64';
const GATEWAY = 'fd00:1:2:3::1';
const GUEST = 'fd00:1:2:3::10';
const ROUTER_UP = '2001:db8:ffff::1';
const PEER = '2001:db8:ffff::2';

describe.skipIf(!req.ok)(`IPv6 through the firewall (nat66, routed)${req.reason}`, () => {
  for (const backend of backendCases()) {
    for (const mode of ['nat66', 'routed'] as const) {
      describe(`${backend.label}, ${mode}`, () => {
        let lab: Lab;
        let guest: Guest;
        let before: Awaited<ReturnType<typeof ipv6Firewall>>;
        const config = (ipv6: boolean) =>
          networkToml({ firewall: backend.firewall, extra: ipv6 ? [`ipv6 = "${GATEWAY}/64"`, `ipv6_mode = "${mode}"`] : [] });
        /** What down must restore: both ip6tables variants and the nft ruleset (ip6 tables included). */
        const ipv6Firewall = async () => ({
          nft: await lab.nftRuleset(),
          ip6nft: await lab.iptablesSave('ip6tables-nft-save'),
          ip6legacy: await lab.iptablesSave('ip6tables-legacy-save'),
          // the saves above leave out empty tables: ip6tables-nft's must be gone too
          ip6Tables: (await lab.mustRun(['nft', 'list', 'tables', 'ip6'])).trim(),
        });

        beforeAll(async () => {
          assertBuilt();
          lab = await Lab.create();
          const { routerIf } = UPSTREAM;
          await lab.mustRun(['ip', 'addr', 'add', `${ROUTER_UP}/64`, 'dev', routerIf, 'nodad']);
          await lab.mustRun(['ip', 'addr', 'add', `${PEER}/64`, 'dev', 'eth0', 'nodad'], lab.upstream);
          // the peer routes the prefix back via the router: needed for routed replies, and so that an
          // inbound connection reaches our firewall (and is rejected there) in both modes
          await lab.mustRun(['ip', '-6', 'route', 'add', PREFIX, 'via', ROUTER_UP], lab.upstream);
          if (mode === 'routed') {
            // someone else's IPv6 rules (both ip6tables variants, an nft ip6 table): up and down leave them
            for (const v of ['nft', 'legacy']) await lab.mustRun([`ip6tables-${v}`, '-A', 'INPUT', '-s', '2001:db8:aaaa::/48', '-j', 'ACCEPT']);
            await lab.mustRun(['nft', 'add', 'table', 'ip6', 'foreign']);
            await lab.mustRun(['nft', 'add', 'chain', 'ip6', 'foreign', 'input', '{ type filter hook input priority 0; policy accept; }']);
          }
          before = await ipv6Firewall();
          lab.writeConfig(config(true));
          await lab.mustCli(['up'], { env: backend.env });
          guest = await lab.addGuest();
          await lab.mustRun(['ip', 'addr', 'add', `${GUEST}/64`, 'dev', 'eth0', 'nodad'], guest.ns);
          await lab.mustRun(['ip', '-6', 'route', 'replace', 'default', 'via', GATEWAY], guest.ns);
        });
        afterAll(async () => {
          await lab?.cleanup();
        });

        it(`the guest reaches the upstream peer; the peer sees ${mode === 'nat66' ? "the router's uplink address" : "the guest's own address"}`, async () => {
          const rt = await roundTrip6(lab.upstream, guest.ns, PEER, 8080, GUEST);
          expect(rt.connected, rt.clientError).toBe(true);
          expect(rt.peerSaw).toBe(mode === 'nat66' ? ROUTER_UP : GUEST);
        });

        it('an inbound connection from the peer to the guest is rejected', async () => {
          const rt = await roundTrip6(guest.ns, lab.upstream, GUEST, 9000, PEER);
          expect(rt.connected).toBe(false);
          expect(rt.peerSaw).toBeNull();
          expect(rt.clientError).toMatch(/refused/i);
        });

        it('status: the IPv6 rules are exactly as rendered (no drift)', async () => {
          const st = await lab.cli(['status', '--json'], { env: backend.env });
          const net = (JSON.parse(st.stdout).networks as { firewall: { ok: boolean } }[])[0];
          expect(net.firewall, st.all).toMatchObject({ ok: true });
        });

        it('a deleted IPv6 rule is drift that status names and up repairs', async () => {
          if (backend.firewall === 'nftables') await lab.mustRun(['nft', 'flush', 'chain', 'ip6', 'natnet_virbr10', 'filter_inp']);
          else await lab.mustRun([backend.save.replace(/^iptables-(\w+)-save$/, 'ip6tables-$1'), '-D', 'NATNET-INP-virbr10', '-i', 'virbr10', '-p', 'udp', '-m', 'udp', '--dport', '547', '-j', 'ACCEPT']);
          const st = await lab.cli(['status'], { env: backend.env });
          expect(st.all).toMatch(/rule missing: ip6 .*547/);
          const plan = await lab.cli(['plan'], { env: backend.env });
          const up = await lab.cli(['up'], { env: backend.env });
          expect(up.code, up.all).toBe(0);
          expect(up.all).toContain(backend.firewall === 'nftables' ? 'nftables rules of natnet' : 'ip6tables rules of natnet');
          expect(plan.all).toContain(backend.firewall === 'nftables' ? 'nftables rules of natnet' : 'ip6tables rules of natnet');
          const again = await lab.cli(['status', '--json'], { env: backend.env });
          expect(JSON.parse(again.stdout).networks[0].firewall, again.all).toMatchObject({ ok: true });
        });

        it('IPv6 turned off: up removes our IPv6 rules (and plan says so first)', async () => {
          lab.writeConfig(config(false));
          const plan = await lab.cli(['plan'], { env: backend.env });
          expect(plan.all).toMatch(backend.firewall === 'nftables' ? /nftables rules of natnet/ : /remove ip6tables rules of natnet/);
          const up = await lab.cli(['up'], { env: backend.env });
          expect(up.code, up.all).toBe(0);
          const fw = await ipv6Firewall();
          expect(fw.nft).not.toContain('table ip6 natnet_virbr10');
          expect(fw.ip6nft + fw.ip6legacy).not.toContain('NATNET');
          // ip6tables-nft tables that up created are released with the rules
          expect(fw.ip6Tables).toBe(before.ip6Tables);
          const st = await lab.cli(['status', '--json'], { env: backend.env });
          expect(JSON.parse(st.stdout).networks[0].firewall, st.all).toMatchObject({ ok: true });
          lab.writeConfig(config(true));
          await lab.mustCli(['up'], { env: backend.env });
        });

        it('down leaves ip6tables and nft exactly as before', async () => {
          const down = await lab.cli(['down'], { env: backend.env });
          expect(down.code, down.all).toBe(0);
          expect(await ipv6Firewall()).toEqual(before);
        });
      });
    }
  }
});
