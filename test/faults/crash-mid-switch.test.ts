/**
 * A crash in the middle of a live change: `up` switching the firewall backend (or renaming the
 * bridge) is SIGKILLed at moments spread over its run. The applied record was written ahead
 * with the old component and the new one, so `down` then leaves the router namespace exactly as
 * it began, and so does another `up` followed by `down`.
 */
import { describe, expect, it } from 'vitest';
import { LAB_BINS, type NetworkOptions, networkToml } from '../helpers/lab-config.js';
import { upKilledAfter } from '../helpers/crash.js';
import { needs } from '../helpers/requirements.js';
import { useLab } from '../helpers/use-lab.js';

const req = needs({ root: true, bins: LAB_BINS });
const KILLS = Number(process.env.NATNET_CRASH_KILLS ?? 8);

describe.skipIf(!req.ok)(`up killed in the middle of a live change, then down: the host is as it began${req.reason}`, () => {
  const lab = useLab();

  const changes: [string, NetworkOptions, NetworkOptions][] = [
    ['iptables -> nftables', { firewall: 'iptables' }, { firewall: 'nftables' }],
    ['nftables -> iptables', { firewall: 'nftables' }, { firewall: 'iptables' }],
    ['bridge rename', { firewall: 'iptables' }, { firewall: 'iptables', bridge: 'virbr11' }],
  ];
  for (const [label, from, to] of changes) {
    it(`${label}: ${KILLS} kills`, { timeout: 20_000 + KILLS * 8_000 }, async () => {
      const start = await lab().hostState();
      // how long the change takes here, so the kills spread over its run
      lab().writeConfig(networkToml(from));
      await lab().mustCli(['up']);
      lab().writeConfig(networkToml(to));
      const t0 = performance.now();
      await lab().mustCli(['up']);
      const ms = performance.now() - t0;
      await lab().mustCli(['down']);
      expect(await lab().hostState()).toEqual(start);
      let hit = 0;
      for (let i = 0; i < KILLS; i++) {
        lab().writeConfig(networkToml(from));
        await lab().mustCli(['up']);
        lab().writeConfig(networkToml(to));
        const delay = Math.round(((i + 0.5) / KILLS) * ms);
        if (await upKilledAfter(lab(), delay)) hit++;
        // half the time the next up finishes the change first
        if (i % 2) await lab().mustCli(['up']);
        const down = await lab().cli(['down']);
        expect(down.code, `kill after ${delay} ms: ${down.all}`).toBe(0);
        expect(await lab().hostState(), `kill after ${delay} ms (the change takes ~${Math.round(ms)} ms)`).toEqual(start);
      }
      expect(hit, 'kills that landed while up ran').toBeGreaterThan(0);
    });
  }
});
