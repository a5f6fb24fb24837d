/**
 * Putting an adopted bridge's IPv6 sysctls back when the bridge has lost its IPv6 conf: an MTU
 * below 1280 makes the kernel drop the bridge's inet6 device (and /proc/sys/net/ipv6/conf/<br>).
 * `down` must then finish (and drop the record), not stop on a write that cannot succeed.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { appliedFile, layoutOf } from '../../src/state/layout.js';
import { LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { needs } from '../helpers/requirements.js';
import { useLab } from '../helpers/use-lab.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'sysctl'] });

describe.skipIf(!req.ok)(`IPv6 sysctls of an adopted bridge without IPv6 conf${req.reason}`, () => {
  const lab = useLab();

  it('down finishes and removes the record; a later up and down work', async () => {
    lab().writeConfig(networkToml({ firewall: 'nftables', extra: ['adopt = true', 'ipv6 = "fd12:3456:789a:1::1/64"'] }));
    await lab().mustRun(['ip', 'link', 'add', 'virbr10', 'address', '52:54:00:7e:27:af', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await lab().mustRun(['sysctl', '-qw', 'net.ipv6.conf.virbr10.accept_ra=1', 'net.ipv6.conf.virbr10.autoconf=1']);
    await lab().mustRun(['ip', 'addr', 'add', '192.168.100.1/24', 'dev', 'virbr10']);
    await lab().mustRun(['ip', 'link', 'set', 'virbr10', 'up']);
    await lab().mustCli(['up']);
    expect((await lab().mustRun(['sysctl', '-n', 'net.ipv6.conf.virbr10.accept_ra'])).trim()).toBe('0');

    // the kernel drops the bridge's IPv6 side (and its conf dir) below the IPv6 minimum MTU
    await lab().mustRun(['ip', 'link', 'set', 'virbr10', 'mtu', '1200']);
    expect((await lab().run(['sysctl', '-n', 'net.ipv6.conf.virbr10.accept_ra'])).code).not.toBe(0);
    const down = await lab().cli(['down']);
    expect(down.code, down.all).toBe(0);
    expect(existsSync(appliedFile(layoutOf({ config: lab().configPath, stateDir: lab().stateDir }, {}), 'natnet'))).toBe(false);
    const again = await lab().cli(['down']);
    expect(again.code, again.all).toBe(0);

    // its IPv6 conf back (with the kernel's defaults): up and down again, the settings saved then put back
    await lab().mustRun(['ip', 'link', 'set', 'virbr10', 'mtu', '1500']);
    await lab().mustCli(['up']);
    const d2 = await lab().cli(['down']);
    expect(d2.code, d2.all).toBe(0);
    expect((await lab().mustRun(['sysctl', '-n', 'net.ipv6.conf.virbr10.autoconf'])).trim()).toBe('1');
    await lab().mustRun(['ip', 'link', 'del', 'virbr10']);
  });
});
