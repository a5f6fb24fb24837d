/**
 * Explicit reload (issue 8): the listener repairs drift against the configuration last applied;
 * a changed config.toml is applied only by `natnet-hook reload` / SIGHUP / `up`, and an invalid one
 * never: the previous state stays, the listener keeps running and reports the problem.
 * Real dbus-daemon on a private bus, real iptables/nft/dnsmasq, all inside the lab's namespaces.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedFile } from '../../src/state/layout.js';
import { nftTable } from '../../src/render/names.js';
import { assertBuilt, type Firewall, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { waitFor } from '../helpers/private-bus.js';
import { needs } from '../helpers/requirements.js';
import { BRIDGE, ListenerLab } from './listener-lab.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'dbus-daemon', 'dbus-send'] });

const LISTENER = '[listener]\ninterval = 1\n';
/** A config cut off mid-edit: the second network's table ends in the middle of a value. */
const HALF_EDITED = `${networkToml({ firewall: 'nftables', extra: ['stp = false'] })}\n[[network]]\nname = "lab"\naddress = "10.1.`;

describe.skipIf(!req.ok)(`explicit reload: the listener applies the config only when asked${req.reason}`, () => {
  let ll: ListenerLab;

  const writeConfig = (firewall: Firewall) => ll.lab.writeConfig(`${networkToml({ firewall, extra: ['stp = false'] })}\n${LISTENER}`);
  const appliedBackend = (): string | null => {
    const file = appliedFile({ runDir: ll.runDir }, 'natnet');
    if (!existsSync(file)) return null;
    // the per-component record: one firewall once a switch is complete, old and new during one
    return (JSON.parse(readFileSync(file, 'utf8')) as { firewalls: { backend: string }[] }).firewalls.map((f) => f.backend).join('+');
  };
  const nftTablePresent = async () => (await ll.lab.run(['nft', 'list', 'table', 'ip', nftTable({ bridge: BRIDGE })])).code === 0;
  const repairs = () => ll.status()?.repairs ?? 0;
  /** At least `n` more listener runs (periodic checks every second) after now. */
  const moreRepairs = async (n: number) => {
    const from = repairs();
    return waitFor(() => repairs() >= from + n, 15_000, 50);
  };
  const log = () => (ll.listenerLog() ? readFileSync(ll.listenerLog(), 'utf8') : '');

  beforeAll(async () => {
    assertBuilt();
    ll = await ListenerLab.create({ nm: false, firewalld: false }, LISTENER);
    await ll.lab.mustCli(['up']);
    await ll.startListener();
    if (!(await waitFor(() => ll.status()?.lastRepair?.reason === 'listener start', 15_000, 50))) {
      throw new Error(`the listener recorded no start-up repair: ${ll.listenerLog()}`);
    }
  });

  afterAll(async () => {
    await ll?.cleanup();
  });

  it('(a) a firewall switch written to config.toml is not applied by the periodic checks', async () => {
    expect(appliedBackend()).toBe('iptables');
    writeConfig('nftables');
    expect(await moreRepairs(2), `log ${ll.listenerLog()}`).toBe(true);
    expect(appliedBackend()).toBe('iptables');
    expect(await ll.rulesPresent()).toBe(true);
    expect(await nftTablePresent()).toBe(false);
    expect(ll.status()?.lastRepair?.error).toBeUndefined();
  });

  it('(b) a half-edited config + SIGHUP: nothing applied, the listener runs on and reports it; drift is still repaired', async () => {
    ll.lab.writeConfig(HALF_EDITED);
    const pid = ll.listener!.pid;
    const before = ll.status()!.reloadsRequested ?? 0;
    process.kill(pid, 'SIGHUP');
    expect(await waitFor(() => (ll.status()?.lastReload?.covers ?? 0) > before, 15_000, 50), `log ${ll.listenerLog()}`).toBe(true);
    const st = ll.status()!;
    expect(st.running).toBe(true);
    expect(st.pid).toBe(pid);
    expect(st.lastReload?.ok).toBe(false);
    expect(st.configError?.reload).toBe(true);
    expect(st.configError?.message).toMatch(/config\.toml/);
    expect(log()).toMatch(/config invalid: not applied/);
    expect(appliedBackend()).toBe('iptables');
    expect(await ll.rulesPresent()).toBe(true);
    expect(await nftTablePresent()).toBe(false);

    // status names the problem (the file's own problems: it does not validate)
    const status = await ll.lab.cli(['status']);
    expect(status.code).toBe(3);
    expect(status.stderr).toMatch(/^natnet-hook: .*config\.toml/m);
    expect(status.stderr).not.toMatch(/\n\s+at /);

    // drift is repaired against the configuration last applied (iptables), not left alone
    const ipt = ll.saveCmd().replace('-save', '');
    await ll.lab.mustRun([ipt, '-w', '-t', 'nat', '-F', `NATNET-POST-${BRIDGE}`]);
    expect(await waitFor(() => ll.rulesPresent(), 15_000, 100), `log ${ll.listenerLog()}`).toBe(true);
    expect(appliedBackend()).toBe('iptables');
    expect(await nftTablePresent()).toBe(false);
    expect(ll.status()?.running).toBe(true);
  });

  it('(d) `reload` with an invalid config: one line per problem, exit 3, the listener is not signalled', async () => {
    const before = ll.status()!.reloadsRequested;
    const r = await ll.lab.cli(['reload']);
    expect(r.code, r.all).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n').every((l) => l.startsWith('natnet-hook: '))).toBe(true);
    expect(r.stderr).toMatch(/config\.toml/);
    expect(ll.status()!.reloadsRequested).toBe(before);
  });

  it('(c) `reload` with a valid firewall switch: the listener adopts it, reload prints the result and exits 0', async () => {
    writeConfig('nftables');
    const r = await ll.lab.cli(['reload']);
    expect(r.code, `${r.all}\nlog ${ll.listenerLog()}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^the listener \\(pid ${ll.listener!.pid}\\) adopted .*config\\.toml: done:`));
    expect(r.stdout).toMatch(/natnet: /);
    expect(appliedBackend()).toBe('nftables');
    expect(await nftTablePresent()).toBe(true);
    expect(await ll.rulesPresent()).toBe(false);
    const st = ll.status()!;
    expect(st.lastReload?.ok).toBe(true);
    expect(st.configError).toBeNull();
    expect(log()).toMatch(/config adopted/);
    expect(log()).toMatch(/natnet\.firewall: .*iptables.* -> .*nftables/);
    // and the periodic checks now keep nftables
    expect(await moreRepairs(2)).toBe(true);
    expect(appliedBackend()).toBe('nftables');
    const status = await ll.lab.cli(['status']);
    expect(status.stdout).toMatch(/last reload: .* adopted the config/);
    expect(status.stdout).not.toMatch(/PROBLEM/);
  });

  it('(e) `reload` with no listener running applies directly', async () => {
    expect(await ll.stopListener()).toBe(0);
    writeConfig('iptables');
    const r = await ll.lab.cli(['reload']);
    expect(r.code, r.all).toBe(0);
    expect(r.stdout).toMatch(/^no listener running: applied directly\n/);
    expect(appliedBackend()).toBe('iptables');
    expect(await ll.rulesPresent()).toBe(true);
    expect(await nftTablePresent()).toBe(false);
    // idempotent: a second reload changes nothing
    const again = await ll.lab.cli(['reload']);
    expect(again.stdout).toBe('no listener running: applied directly\nnatnet: nothing to change\n');
  });
});
