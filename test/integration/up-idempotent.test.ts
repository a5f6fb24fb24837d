import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, backendCases, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { boundToBridge, listeningSockets } from '../../src/selftest/probes.js';
import { exec, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`up builds the handbook network and is idempotent${req.reason}`, () => {
  for (const backend of backendCases()) {
    describe(backend.label, () => {
      let lab: Lab;
      let otherBefore = '';
      beforeAll(async () => {
        assertBuilt();
        lab = await Lab.create();
        lab.writeConfig(networkToml({ firewall: backend.firewall }));
        if (backend.otherSave) otherBefore = await lab.iptablesSave(backend.otherSave);
      });
      afterAll(async () => {
        await lab?.cleanup();
      });

      it('first up exits 0 and builds bridge, forwarding, rules and dnsmasq', async () => {
        const r = await lab.cli(['up'], { env: backend.env });
        expect(r.code, r.all).toBe(0);

        const [link] = JSON.parse(await lab.mustRun(['ip', '-j', '-d', 'addr', 'show', 'dev', 'virbr10']));
        expect(link.address).toBe('52:54:00:7e:27:af');
        expect(link.flags).toContain('UP');
        expect(link.linkinfo.info_kind).toBe('bridge');
        expect(link.linkinfo.info_data.stp_state).toBe(0);
        expect(link.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`)).toContain('192.168.100.1/24');
        expect((await lab.mustRun(['sysctl', '-n', 'net.ipv4.ip_forward'])).trim()).toBe('1');
        expect(await lab.dnsmasqPids()).toHaveLength(1);
        const sockets = await listeningSockets(exec, lab.router);
        expect(sockets.length).toBeGreaterThan(0);
        expect(sockets.filter((s) => !boundToBridge(s, 'virbr10', '192.168.100.1')), 'dnsmasq listens on the bridge only').toEqual([]);

        if (backend.firewall === 'iptables') {
          const save = await lab.iptablesSave(backend.save);
          expect(save).toMatch(/-s 192\.168\.100\.0\/24 ! -d 192\.168\.100\.0\/24 -p tcp -j MASQUERADE --to-ports 1024-65535/);
          expect(save).toMatch(/-s 192\.168\.100\.0\/24 -d 224\.0\.0\.0\/24 -j RETURN/);
          expect(save).toMatch(/--reject-with icmp-port-unreachable/);
          expect(save).toMatch(/^-A FORWARD -j \S+$/m);
          expect(save).toMatch(/^-A POSTROUTING -j \S+$/m);
          expect(await lab.iptablesSave(backend.otherSave), 'the other iptables variant is never touched').toBe(otherBefore);
        } else {
          const ruleset = await lab.nftRuleset();
          expect(ruleset).toMatch(/masquerade to :1024-65535/);
          expect(ruleset).toMatch(/reject/);
        }
      });

      it('second up changes nothing (links, rules, nft ruleset, dnsmasq pid)', async () => {
        const before = await lab.snapshot();
        const pids = await lab.dnsmasqPids();
        const r = await lab.cli(['up'], { env: backend.env });
        expect(r.code, r.all).toBe(0);
        expect(await lab.snapshot()).toEqual(before);
        expect(await lab.dnsmasqPids()).toEqual(pids);
      });

      it('status reports healthy (exit 0)', async () => {
        const r = await lab.cli(['status'], { env: backend.env });
        expect(r.code, r.all).toBe(0);
        const json = await lab.cli(['status', '--json'], { env: backend.env });
        expect(json.code, json.all).toBe(0);
        expect(() => JSON.parse(json.stdout)).not.toThrow();
      });
    });
  }
});
