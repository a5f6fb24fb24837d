/**
 * Crash-safe applying: `up` is SIGKILLed at random moments spread across its run; the next
 * `up` and `down` must then leave the router namespace exactly as it began (links, addresses,
 * iptables of both variants, the nft ruleset, ip_forward, no dnsmasq). The kill takes the
 * process group, like a service manager killing a hook's cgroup: children (ip, iptables-restore)
 * die with it; a dnsmasq that already daemonised survives, as it would on a real host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNs } from '../../src/selftest/exec.js';
import { spawnBackground } from '../../src/sys/spawn.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { BIN, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });
const KILLS = Number(process.env.NATNET_CRASH_KILLS ?? 30);

/** A small seeded PRNG (mulberry32): a failing run can be repeated with its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts `up` in the router namespace and SIGKILLs its process group after delayMs; whether it was still running. */
async function upKilledAfter(lab: Lab, delayMs: number): Promise<{ killed: boolean; code: number | null }> {
  const argv = inNs(lab.router, [process.execPath, BIN, '--config', lab.configPath, '--state-dir', lab.stateDir, 'up']);
  // detached: its own process group (ip netns exec execs node, so the group is the CLI's)
  const { pid, child, exited, signal } = await spawnBackground(argv, { detached: true });
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-pid, 'SIGKILL');
  }, delayMs);
  const code = await exited;
  clearTimeout(timer);
  return { killed: (await signal) === 'SIGKILL', code };
}

describe.skipIf(!req.ok)(`up killed at random moments, then up and down: the host is as it began${req.reason}`, () => {
  describe.each(['auto', 'nftables'] as const)('firewall = %s', (firewall) => {
    let lab: Lab;
    beforeAll(async () => {
      assertBuilt();
      lab = await Lab.create();
      lab.writeConfig(networkToml({ firewall }));
    });
    afterAll(async () => {
      await lab?.cleanup();
    });

    const hostState = () => lab.hostState();

    it(`${KILLS} kills`, { timeout: 30_000 + KILLS * 10_000 }, async () => {
      const start = await hostState();
      // how long a first up takes here (the fastest of 3), so the kills spread over its whole run
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await lab.mustCli(['up']);
        runs.push(performance.now() - t0);
        await lab.mustCli(['down']);
        expect(await hostState()).toEqual(start);
      }
      const upMs = Math.min(...runs);

      const seed = Number(process.env.NATNET_CRASH_SEED ?? Date.now() % 100000);
      const random = prng(seed);
      let hit = 0;
      const delays: number[] = [];
      for (let i = 0; i < KILLS; i++) {
        const delay = Math.round(random() * upMs);
        delays.push(delay);
        const r = await upKilledAfter(lab, delay);
        if (r.killed) hit++;
        const why = `seed ${seed}, kill ${i + 1} after ${delay} ms (up takes ~${Math.round(upMs)} ms)`;
        const up = await lab.cli(['up']);
        expect(up.code, `${why}: up after the kill: ${up.all}`).toBe(0);
        const down = await lab.cli(['down']);
        expect(down.code, `${why}: down: ${down.all}`).toBe(0);
        expect(await hostState(), why).toEqual(start);
      }
      console.log(`crash-kill (${firewall}): seed ${seed}, first up ${Math.round(upMs)} ms, ${hit}/${KILLS} kills hit a running up, delays ${delays.join(' ')}`);
      // the timing of one run varies with the machine's load: a third is plenty to have hit every phase
      expect(hit, 'kills land while up runs').toBeGreaterThanOrEqual(KILLS / 3);
    });
  });
});
