/**
 * A crash while the IPv6 firewall is applied or removed: `up` turning IPv6 on (or off) is
 * SIGKILLed at moments spread over its run. The record written ahead says the network has IPv6
 * until our IPv6 rules are gone, so `down` then leaves ip6tables and nft exactly as they began.
 */
import { describe, expect, it } from 'vitest';
import { upKilledAfter } from '../helpers/crash.js';
import { LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { needs } from '../helpers/requirements.js';
import { useLab } from '../helpers/use-lab.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'ip6tables-nft', 'ip6tables-legacy'] });
const KILLS = Number(process.env.NATNET_CRASH_KILLS ?? 6);
const IPV6 = ['ipv6 = "fd00:1:2:3::1/64"'];

describe.skipIf(!req.ok)(`up killed while applying or removing the IPv6 firewall, then down: ip6tables and nft as they began${req.reason}`, () => {
  const lab = useLab();

  /** Both families in both iptables variants, the nft ruleset and the ip6 tables that exist (the saves leave out empty ones). */
  const firewall = async () => ({
    ...(await lab().snapshot()),
    ip6nft: await lab().iptablesSave('ip6tables-nft-save'),
    ip6legacy: await lab().iptablesSave('ip6tables-legacy-save'),
    ip6Tables: (await lab().mustRun(['nft', 'list', 'tables', 'ip6'])).trim(),
  });

  const cases: [string, 'iptables' | 'nftables', boolean][] = [
    ['iptables: IPv6 on', 'iptables', true],
    ['iptables: IPv6 off', 'iptables', false],
    ['nftables: IPv6 off', 'nftables', false],
  ];
  for (const [label, fw, turnOn] of cases) {
    it(`${label}: ${KILLS} kills`, { timeout: 20_000 + KILLS * 8_000 }, async () => {
      const config = (v6: boolean) => networkToml({ firewall: fw, extra: v6 ? IPV6 : [] });
      const start = await firewall();
      lab().writeConfig(config(!turnOn));
      await lab().mustCli(['up']);
      lab().writeConfig(config(turnOn));
      const t0 = performance.now();
      await lab().mustCli(['up']);
      const ms = performance.now() - t0;
      await lab().mustCli(['down']);
      expect(await firewall()).toEqual(start);
      let hit = 0;
      for (let i = 0; i < KILLS; i++) {
        lab().writeConfig(config(!turnOn));
        await lab().mustCli(['up']);
        lab().writeConfig(config(turnOn));
        const delay = Math.round(((i + 0.5) / KILLS) * ms);
        if (await upKilledAfter(lab(), delay)) hit++;
        // half the time the next up finishes the change first
        if (i % 2) await lab().mustCli(['up']);
        const down = await lab().cli(['down']);
        expect(down.code, `kill after ${delay} ms: ${down.all}`).toBe(0);
        expect(await firewall(), `kill after ${delay} ms (the change takes ~${Math.round(ms)} ms)`).toEqual(start);
      }
      expect(hit, 'kills that landed while up ran').toBeGreaterThan(0);
    });
  }
});
