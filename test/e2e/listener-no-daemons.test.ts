import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS } from '../helpers/lab-config.js';
import { waitFor } from '../helpers/private-bus.js';
import { needs } from '../helpers/requirements.js';
import { BRIDGE, ListenerLab } from './listener-lab.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'dbus-daemon', 'dbus-send'] });

describe.skipIf(!req.ok)(`listener with neither NetworkManager nor firewalld: the periodic check repairs drift${req.reason}`, () => {
  let ll: ListenerLab;

  beforeAll(async () => {
    assertBuilt();
    ll = await ListenerLab.create({ nm: false, firewalld: false }, '[listener]\ninterval = 1\n');
    await ll.lab.mustCli(['up']);
    await ll.startListener();
    // the start-up repair must be over, or it (not the periodic check) repairs the drift below
    if (!(await waitFor(() => ll.status()?.lastRepair?.reason === 'listener start', 15_000, 50))) {
      throw new Error(`the listener recorded no start-up repair: ${ll.listenerLog()}`);
    }
  });

  afterAll(async () => {
    await ll?.cleanup();
  });

  it('idles on the bus with no services and records that', () => {
    const st = ll.status()!;
    expect(st.running).toBe(true);
    expect(st.services).toEqual({ networkManager: false, firewalld: false });
    expect(st.firewalldZone).toEqual({ [BRIDGE]: null });
    expect(st.nmManaged).toEqual({ [BRIDGE]: null });
  });

  it("an admin's flush of our chain and of FORWARD is repaired", async () => {
    const ipt = ll.saveCmd().replace('-save', '');
    await ll.lab.mustRun([ipt, '-w', '-t', 'nat', '-F', `NATNET-POST-${BRIDGE}`]);
    await ll.lab.mustRun([ipt, '-w', '-t', 'filter', '-F', 'FORWARD']);
    expect(await ll.rulesPresent(), `rules gone right after the flush; status ${JSON.stringify(ll.status()?.lastRepair)}`).toBe(false);
    expect(await waitFor(() => ll.rulesPresent(), 15_000, 100), `log ${ll.listenerLog()}`).toBe(true);
    // the listener writes its status file after the repair's last step: the rules can be back a moment before it says why
    expect(await waitFor(() => ll.status()?.lastRepair?.reason === 'periodic check', 5_000, 50), `log ${ll.listenerLog()}`).toBe(true);
  });

  it('a killed dnsmasq is restarted', async () => {
    const [pid] = await ll.lab.dnsmasqPids();
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    expect(await waitFor(async () => {
      const now = await ll.lab.dnsmasqPids();
      return now.length === 1 && now[0] !== pid;
    }, 15_000, 100)).toBe(true);
    expect(await waitFor(async () => (await ll.lab.cli(['status'])).code === 0, 15_000, 200)).toBe(true);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await ll.stopListener()).toBe(0);
    expect(ll.status()?.running).toBe(false);
  });
});
