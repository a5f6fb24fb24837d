import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FIREWALLD_ZONE } from '../../src/listen/options.js';
import { assertBuilt, LAB_BINS } from '../helpers/lab-config.js';
import type { Guest } from '../helpers/netns.js';
import { pidAlive, run, sleep, waitFor } from '../helpers/private-bus.js';
import { needs } from '../helpers/requirements.js';
import { BRIDGE, ListenerLab } from './listener-lab.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'dbus-daemon', 'dbus-send', 'NetworkManager', 'firewalld', 'firewall-cmd'] });

/** Rules-missing windows, printed at the end (measured, not asserted: speed lives in bench/). */
const windows: Record<string, number[]> = {};
const note = (what: string, ms: number | null) => {
  windows[what] ??= [];
  windows[what].push(ms ?? -1);
};

describe.skipIf(!req.ok)(`listener with real NetworkManager and firewalld on a private bus${req.reason}`, () => {
  let ll: ListenerLab;
  let guest: Guest;

  const expectNat = async (when: string) => {
    const r = await ll.natWorks(guest);
    expect(r.ok, `${when}: ${r.detail}; listener log ${ll.listenerLog()}`).toBe(true);
  };

  beforeAll(async () => {
    assertBuilt();
    ll = await ListenerLab.create({ nm: true, firewalld: true });
    await ll.lab.mustCli(['up']);
    await ll.startListener();
    guest = await ll.lab.addGuest();
    const ip = await ll.lab.dhcp(guest);
    if (!ip) throw new Error(`guest got no lease: ${ll.lab.guestLog(guest)}`);
  });

  afterAll(async () => {
    console.log(`rules-missing windows (ms): ${JSON.stringify(windows)}`);
    await ll?.cleanup();
  });

  it('at start: our bridge is put in the trusted zone, NetworkManager leaves it unmanaged, NAT works', async () => {
    expect(await waitFor(() => ll.status()?.firewalldZone[BRIDGE] === DEFAULT_FIREWALLD_ZONE, 10_000)).toBe(true);
    const st = ll.status()!;
    expect(st.running).toBe(true);
    expect(st.services).toEqual({ networkManager: true, firewalld: true });
    expect(st.nmManaged[BRIDGE]).toBe(false);
    const zone = await ll.bus.firewallCmd(['--get-zone-of-interface', BRIDGE]);
    expect(zone.stdout.trim()).toBe(DEFAULT_FIREWALLD_ZONE);
    await expectNat('at start');
  });

  it('10 × firewall-cmd --reload: rules come back each time and NAT still works', async () => {
    for (let i = 0; i < 10; i++) {
      const ms = await ll.missingWindow(async () => {
        const r = await ll.bus.firewallCmd(['--reload']);
        expect(r.code, r.stderr).toBe(0);
      });
      note('reload', ms);
      expect(ms, `reload ${i + 1}: rules did not come back`).not.toBeNull();
      await expectNat(`after reload ${i + 1}`);
    }
    expect(await waitFor(() => /firewalld Reloaded/.test(ll.status()?.lastRepair?.reason ?? ''), 5_000, 50), JSON.stringify(ll.status()?.lastRepair)).toBe(true);
    expect(ll.status()?.firewalldZone[BRIDGE]).toBe(DEFAULT_FIREWALLD_ZONE);
  });

  it('3 × firewalld restart: rules come back after it is RUNNING, NAT still works', async () => {
    for (let i = 0; i < 3; i++) {
      const ms = await ll.missingWindow(() => ll.bus.restartFirewalld());
      note('firewalld restart', ms);
      expect(ms, `restart ${i + 1}: rules did not come back`).not.toBeNull();
      // the RUNNING-gated repair may land just after the rules were first seen back
      await waitFor(() => /state RUNNING/.test(ll.status()?.lastRepair?.reason ?? ''), 15_000);
      expect(await waitFor(() => ll.rulesPresent(), 10_000)).toBe(true);
      expect(await waitFor(async () => (await ll.bus.firewallCmd(['--get-zone-of-interface', BRIDGE])).stdout.trim() === DEFAULT_FIREWALLD_ZONE, 10_000)).toBe(true);
      await expectNat(`after firewalld restart ${i + 1}`);
    }
  });

  it('NetworkManager restarted 3 times, then `ip link del virbr10`: the listener restores the bridge', async () => {
    for (let i = 0; i < 3; i++) await ll.bus.restartNm();
    expect(await waitFor(() => ll.status()?.services.networkManager === true, 10_000)).toBe(true);
    const before = ll.status()!.repairs;
    await ll.lab.mustRun(['ip', 'link', 'del', BRIDGE]);
    expect(await waitFor(() => ll.bridgeHasAddress(), 20_000), `bridge not restored; log ${ll.listenerLog()}`).toBe(true);
    expect(await waitFor(() => ll.rulesPresent(), 10_000)).toBe(true);
    expect(ll.status()!.repairs).toBeGreaterThan(before);
    expect(await waitFor(async () => (await ll.lab.cli(['status'])).code === 0, 20_000)).toBe(true);
    expect(await waitFor(() => ll.status()?.nmManaged[BRIDGE] === false, 10_000)).toBe(true);
    // the guest's port went with the old bridge (libvirt re-plugs real taps); plug it back and check NAT
    await ll.lab.mustRun(['ip', 'link', 'set', guest.port, 'master', BRIDGE, 'up']);
    expect(await waitFor(async () => (await ll.natWorks(guest)).ok, 20_000, 500)).toBe(true);
  });

  it('unknown and malformed signals do not crash it', async () => {
    const st = ll.status()!;
    const target = st.bus.uniqueName!;
    const send = (argv: string[]) => run(['dbus-send', `--bus=${ll.bus.address}`, '--type=signal', ...argv]);
    // straight to the listener's connection (bypasses match rules), wrong signatures
    await send([`--dest=${target}`, '/org/freedesktop/NetworkManager', 'org.freedesktop.NetworkManager.StateChanged', 'string:bogus']);
    await send([`--dest=${target}`, '/org/freedesktop/NetworkManager', 'org.freedesktop.NetworkManager.DeviceAdded', 'int64:-1', 'array:byte:1,2,3']);
    await send([`--dest=${target}`, '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameOwnerChanged', 'string:org.fedoraproject.FirewallD1', 'string:', 'string:']);
    await send([`--dest=${target}`, '/x', 'org.example.Nothing.Happened', 'dict:string:variant:a,int32:1']);
    // broadcast, from a sender that owns nothing
    await send(['/org/fedoraproject/FirewallD1', 'org.fedoraproject.FirewallD1.Reloaded', 'string:unexpected']);
    await send(['/org/freedesktop/NetworkManager', 'org.freedesktop.NetworkManager.StateChanged', 'string:not-a-number']);
    await sleep(300);
    expect(pidAlive(ll.listener!.pid)).toBe(true);
    expect(ll.status()?.services.firewalld).toBe(true);
    // and it still reacts
    const ms = await ll.missingWindow(async () => void (await ll.bus.firewallCmd(['--reload'])));
    expect(ms).not.toBeNull();
  });

  it('the private bus killed and restarted: the listener reconnects (or exits non-zero and a restart recovers), then still reacts to a reload', async () => {
    const first = ll.listener!;
    await ll.bus.kill('dbus');
    await ll.bus.startBus();
    // the daemons lost the bus too: restart them like systemd would
    await ll.bus.stop('firewalld');
    await ll.bus.stop('nm');
    await ll.bus.startNm();
    await ll.bus.startFirewalld();
    const reconnected = await waitFor(() => {
      const st = ll.status();
      return !!st && st.pid === first.pid && st.bus.connected && st.bus.reconnects >= 1;
    }, 40_000);
    if (!reconnected) {
      const code = await Promise.race([first.exited, sleep(40_000).then(() => -1)]);
      expect(code, `listener neither reconnected nor exited; log ${first.log}`).not.toBe(0);
      expect(readFileSync(first.log, 'utf8')).toMatch(/lost the D-Bus connection/);
      await ll.startListener();
    }
    expect(await waitFor(() => ll.status()?.services.firewalld === true, 20_000)).toBe(true);
    const ms = await ll.missingWindow(async () => void (await ll.bus.firewallCmd(['--reload'])));
    note('reload after bus restart', ms);
    expect(ms).not.toBeNull();
    expect(await waitFor(() => /firewalld/.test(ll.status()?.lastRepair?.reason ?? ''), 10_000)).toBe(true);
    await expectNat('after bus restart');
  });

  it('SIGTERM: exits 0, records the stop, leaves no process of its own behind', async () => {
    const pid = ll.listener!.pid;
    expect(await ll.stopListener()).toBe(0);
    expect(pidAlive(pid)).toBe(false);
    const st = ll.status()!;
    expect(st.running).toBe(false);
    expect(st.stopped).toBeTruthy();
    const pids = (await run(['ip', 'netns', 'pids', ll.lab.router])).stdout.split('\n').filter(Boolean).map(Number);
    const comm = (p: number) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    };
    // what is left in the router namespace are the daemons (dbus, NM, firewalld, dnsmasq), no node
    expect(pids.map(comm).filter((c) => c === 'node' || c === 'natnet-hook')).toEqual([]);
  });
});
