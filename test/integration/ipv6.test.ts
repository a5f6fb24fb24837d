/**
 * The IPv6 side of a network in real namespaces: a generated ULA prefix kept across down/up, the
 * bridge's address and sysctls, router advertisements (a guest using the kernel's SLAAC gets an
 * address in the prefix and a default route via the bridge's link-local address), DHCPv6 from
 * the pool with `dhcpv6 = "stateful"` (isc-dhcp-client's dhclient -6), the guest's name resolved
 * to its IPv6 address through the gateway, the accept_ra pre-check and its fix, and `down`
 * putting the namespace back exactly (IPv6 sysctls, addresses and routes included).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIPv6 } from '../../src/net/ipv6.js';
import { dhcp6Once, writeDhclient6Files } from '../../src/selftest/dhclient6.js';
import { sleep } from '../../src/selftest/exec.js';
import { resolveName } from '../../src/selftest/probes.js';
import { addresses6, defaultRoute6, waitAddressIn } from '../../src/selftest/probes6.js';
import { ipv6PrefixFile } from '../../src/state/layout.js';
import { exec } from '../helpers/exec.js';
import { enableSlaac } from '../helpers/ipv6-guest.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'dhclient', 'sysctl'] });

const config = (extra: string[]) => networkToml({ firewall: 'nftables', extra });

describe.skipIf(!req.ok)(`IPv6: RA, SLAAC, DHCPv6, DNS, down${req.reason}`, () => {
  let lab: Lab;
  let before: Awaited<ReturnType<Lab['hostState']>>;
  let prefix = '';
  const sysctl = async (key: string) => (await lab.mustRun(['sysctl', '-n', key])).trim();
  // status exits non-zero when degraded: its JSON is what is checked
  const status = async () => JSON.parse((await lab.cli(['status', '--json'])).stdout);

  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    await lab.settleDad();
    before = await lab.hostState();
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('ipv6 = "auto": a ULA /64 is generated, kept in the state, and put on the bridge with its sysctls', async () => {
    lab.writeConfig(config(['ipv6 = "auto"']));
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    const kept = JSON.parse(readFileSync(ipv6PrefixFile({ libDir: join(lab.stateDir, 'lib') }, 'natnet'), 'utf8'));
    expect(kept.prefix).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:1::\/64$/);
    prefix = kept.prefix.replace(/\/64$/, '');
    const addrs = await lab.mustRun(['ip', '-6', '-o', 'addr', 'show', 'dev', 'virbr10', 'scope', 'global']);
    expect(addrs).toContain(`${prefix}1/64`);
    for (const [k, v] of Object.entries({ disable_ipv6: '0', accept_ra: '0', autoconf: '0', accept_dad: '0' })) {
      expect(await sysctl(`net.ipv6.conf.virbr10.${k}`), k).toBe(v);
    }
    expect(await sysctl('net.ipv6.conf.all.forwarding')).toBe('1');
    const s = await status();
    expect(s.networks[0].state, JSON.stringify(s.networks[0])).toBe('healthy');
    expect(s.networks[0].ipv6).toMatchObject({ gateway: `${prefix}1`, prefix: 64, mode: 'nat66', dhcpv6: 'stateless', address: true, forwarding: true });
  });

  it('a guest using the kernel SLAAC gets an address in the prefix and a default route via the bridge link-local address', async () => {
    const g = await lab.addGuest();
    await enableSlaac(lab, g);
    const a = await waitAddressIn(exec, g.ns, 'eth0', `${prefix}/64`);
    expect(a, 'no SLAAC address').not.toBeNull();
    expect(await lab.mustRun(['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'], g.ns)).toContain(`${a}/64`);
    const [ll] = (await addresses6(exec, lab.router, 'virbr10', 'link')).filter((x) => x.startsWith('fe80:'));
    expect(ll, await lab.mustRun(['ip', '-6', 'addr', 'show', 'dev', 'virbr10'])).toMatch(/^fe80:/);
    let route = await defaultRoute6(exec, g.ns);
    for (let i = 0; i < 50 && !route; i++) {
      await sleep(100);
      route = await defaultRoute6(exec, g.ns);
    }
    expect(route).toEqual({ via: ll, dev: 'eth0' });
  });

  it('the guest resolves its own name to its SLAAC address through the gateway (ra-names)', async () => {
    const g = lab.guests[0];
    expect(await lab.dhcp(g, { hostname: 'vm6' })).not.toBeNull();
    const slaac = (await waitAddressIn(exec, g.ns, 'eth0', `${prefix}/64`))!;
    let answers: string[] = [];
    // dnsmasq pings the SLAAC address it derives from the DHCPv4 lease's MAC before it names it
    for (let i = 0; i < 60 && !answers.includes(slaac); i++) {
      answers = await resolveName(exec, g.ns, 'vm6.natnet', `${prefix}1`, 'AAAA');
      if (!answers.includes(slaac)) await sleep(500);
    }
    expect(answers).toContain(slaac);
  });

  it('down restores the namespace exactly; the auto prefix stays the same across down/up', async () => {
    // guests are gone with their namespaces only at cleanup: detach their ports to compare the router alone
    const down = await lab.cli(['down', '--force']);
    expect(down.code, down.all).toBe(0);
    for (const g of lab.guests) await lab.run(['ip', 'link', 'del', g.port]);
    expect(await lab.hostState()).toEqual(before);
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(await lab.mustRun(['ip', '-6', '-o', 'addr', 'show', 'dev', 'virbr10', 'scope', 'global'])).toContain(`${prefix}1/64`);
  });

  it('dhcpv6 = "stateful": dhclient -6 gets an address from the pool', async () => {
    lab.writeConfig(config(['ipv6 = "auto"', 'dhcpv6 = "stateful"']));
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(up.stdout).toMatch(/restart dnsmasq/);
    const g = await lab.addGuest();
    const r = await dhcp6Once(exec, { ns: g.ns, name: g.name, dir: g.dir }, writeDhclient6Files(g.dir));
    expect(r.ip, r.output).not.toBeNull();
    const n = parseIPv6(r.ip!)! - parseIPv6(prefix)!;
    expect(n >= 0x1000n && n <= 0x1fffn, r.ip!).toBe(true);
  });

  it('drift: a missing address or a changed bridge sysctl is reported by status and repaired by up', async () => {
    await lab.mustRun(['ip', 'addr', 'del', `${prefix}1/64`, 'dev', 'virbr10']);
    await lab.mustRun(['sysctl', '-q', '-w', 'net.ipv6.conf.virbr10.accept_ra=1']);
    const s = await status();
    expect(s.networks[0].state).toBe('degraded');
    expect(s.networks[0].problems.join('\n')).toMatch(/IPv6 address .* missing/);
    expect(s.networks[0].problems.join('\n')).toMatch(/accept_ra is 1/);
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(up.stdout).toMatch(/accept_ra=0/);
    expect(up.stdout).toMatch(/addr add .* nodad/);
    expect((await status()).networks[0].state).toBe('healthy');
    const down = await lab.cli(['down', '--force']);
    expect(down.code, down.all).toBe(0);
    for (const g of lab.guests.slice(1)) await lab.run(['ip', 'link', 'del', g.port]);
    expect(await lab.hostState()).toEqual(before);
  });

  it('an uplink with RA-learned routes and accept_ra=1: up refuses naming it and the fix; ipv6_fix_accept_ra sets 2 and down puts 1 back', async () => {
    await lab.mustRun(['ip', '-6', 'route', 'add', 'fd99:1::/64', 'dev', 'wan0', 'proto', 'ra']);
    await lab.settleDad();
    const baseline = await lab.hostState();
    expect(await sysctl('net.ipv6.conf.wan0.accept_ra')).toBe('1');
    lab.writeConfig(config(['ipv6 = "auto"']));
    const refused = await lab.cli(['up']);
    expect(refused.code, refused.all).toBe(3);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/wan0 has routes learned from router advertisements and accept_ra=1.*sysctl net\.ipv6\.conf\.wan0\.accept_ra=2.*ipv6_fix_accept_ra = true/);
    expect(await lab.hostState()).toEqual(baseline);

    lab.writeConfig(config(['ipv6 = "auto"', 'ipv6_fix_accept_ra = true']));
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(await sysctl('net.ipv6.conf.wan0.accept_ra')).toBe('2');
    const down = await lab.cli(['down']);
    expect(down.code, down.all).toBe(0);
    expect(down.stdout).toMatch(/restore accept_ra of wan0/);
    expect(await lab.hostState()).toEqual(baseline);
  });

  it('a bad kept prefix is reported and never silently replaced; removing it derives the same prefix again', async () => {
    const file = ipv6PrefixFile({ libDir: join(lab.stateDir, 'lib') }, 'natnet');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, '{"network": "natnet", "prefix": "2001:db8::/64", "created": "x"}\n');
    lab.writeConfig(config(['ipv6 = "auto"', 'ipv6_fix_accept_ra = true']));
    const refused = await lab.cli(['up']);
    expect(refused.code, refused.all).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`${file} is bad (.prefix: expected a unique local /64`);
    expect(readFileSync(file, 'utf8')).toContain('2001:db8::/64');
    expect((await status()).networks[0].problems.join('\n')).toContain(`${file} is bad`);
    rmSync(file);
    const up = await lab.cli(['up']);
    expect(up.code, up.all).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).prefix).toBe(JSON.parse(good).prefix);
    expect((await lab.cli(['down'])).code).toBe(0);
  });
});
