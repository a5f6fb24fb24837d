/**
 * The listener puts natnet-hook's DOCKER-USER accepts back when Docker restarts: Docker 28's
 * rules in the router namespace, the nftables backend (where those accepts are what lets the
 * VMs' traffic past Docker's FORWARD DROP), a stand-in for systemd on the lab's private bus that
 * answers Subscribe and emits JobRemoved for docker.service. No periodic check: the signal alone
 * must cause the repair.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEMD_MANAGER, SYSTEMD_NAME, SYSTEMD_PATH } from '../../src/listen/signals.js';
import { inNs } from '../../src/selftest/exec.js';
import { dockerRestart, dockerStart } from '../helpers/docker28.js';
import { assertBuilt, hostIptablesVariant, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { exec } from '../helpers/netns.js';
import { waitFor } from '../helpers/private-bus.js';
import { needs } from '../helpers/requirements.js';
import { FakeService } from '../unit/listen-fake-services.js';
import { ListenerLab } from './listener-lab.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'dbus-daemon', 'dbus-send'] });
const variant = hostIptablesVariant();

describe.skipIf(!req.ok)(`listener: Docker restarts (systemd JobRemoved for docker.service) bring our DOCKER-USER accepts back${req.reason}`, () => {
  let ll: ListenerLab;
  let systemd: FakeService;

  const restore = async (text: string) => {
    const r = await exec(inNs(ll.lab.router, [`iptables-${variant}-restore`, '-w', '--noflush']), { input: text });
    if (r.code !== 0) throw new Error(r.stderr);
  };
  const ours = async () => (await ll.lab.mustRun([`iptables-${variant}-save`, '-t', 'filter'])).split('\n').filter((l) => l.includes('"natnet-hook virbr10"'));

  beforeAll(async () => {
    assertBuilt();
    ll = await ListenerLab.create({ nm: false, firewalld: false });
    ll.lab.writeConfig(`${networkToml({ firewall: 'nftables', extra: ['stp = false'] })}\n[listener]\ninterval = 0\n`);
    await restore(dockerStart());
    systemd = await FakeService.start(ll.bus.address, SYSTEMD_NAME, (msg) =>
      msg.interface === SYSTEMD_MANAGER && msg.member === 'Subscribe' ? { signature: '', body: [] } : null,
    );
    await ll.lab.mustCli(['up']);
    await ll.startListener();
    if (!(await waitFor(() => ll.status()?.lastRepair?.reason === 'listener start', 15_000, 50))) {
      throw new Error(`the listener recorded no start-up repair: ${ll.listenerLog()}`);
    }
  });

  afterAll(async () => {
    systemd?.stop();
    await ll?.cleanup();
  });

  it('subscribed to systemd; our accepts are in DOCKER-USER', async () => {
    expect(systemd.calls).toContain('Subscribe()');
    expect((await ours()).length).toBeGreaterThanOrEqual(2);
  });

  it('Docker resets its chains and its job ends: the listener re-asserts our accepts', async () => {
    await restore(dockerRestart());
    expect(await ours()).toEqual([]);
    systemd.signal(SYSTEMD_PATH, SYSTEMD_MANAGER, 'JobRemoved', 'uoss', [7, `${SYSTEMD_PATH}/job/7`, 'docker.service', 'done']);
    expect(await waitFor(async () => (await ours()).length >= 2, 15_000, 100), `log ${ll.listenerLog()}`).toBe(true);
    expect(ll.status()?.lastRepair?.reason, ll.listenerLog()).toMatch(/docker\.service/);
    const save = await ll.lab.mustRun([`iptables-${variant}-save`, '-t', 'filter']);
    const du = save.split('\n').filter((l) => l.startsWith('-A DOCKER-USER '));
    expect(du.at(-1)).toBe('-A DOCKER-USER -j RETURN');
  });
});
