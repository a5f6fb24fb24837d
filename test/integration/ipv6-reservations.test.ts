/**
 * IPv6 reservations end to end: a network with `dhcpv6 = "stateful"`, guests running ISC
 * `dhclient -6` (files of their own, stopped by pid), dnsmasq serving the hostsfile's
 * `MAC,id:*,IPv4,[IPv6],NAME` lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dhcp6Once, writeDhclient6Files } from '../../src/selftest/dhclient6.js';
import { resolveName } from '../../src/selftest/probes.js';
import { waitResolves } from '../../src/selftest/probes6.js';
import { dnsmasqPaths } from '../../src/state/layout.js';
import { makeContext } from '../../src/engine/context.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { exec, type Guest, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'dhclient'] });

const PREFIX = 'fd00:1:2:3';
const V6 = ['ipv6 = "fd00:1:2:3::1/64"', 'dhcpv6 = "stateful"'];

describe.skipIf(!req.ok)(`IPv6 reservations with stateful DHCPv6${req.reason}`, () => {
  let lab: Lab;
  let dhclient: { script: string; conf: string };
  const dhcp6 = async (g: Guest) => dhcp6Once(exec, { ns: g.ns, name: g.name, dir: g.dir }, dhclient);

  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    dhclient = writeDhclient6Files(join(lab.dir, 'guests'));
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('a guest running dhclient -6 gets exactly the reserved ip6, and its name resolves to it', async () => {
    lab.writeConfig(networkToml({ extra: V6 }));
    lab.writeLeaseFile('vm1', `vm = "vm1"\nip = "192.168.100.10"\nip6 = "${PREFIX}::10"\nmac = "52:54:00:aa:bb:01"\n`);
    await lab.mustCli(['up']);
    const g1 = await lab.addGuest();
    const d = await dhcp6(g1);
    expect(d.ip, d.output).toBe(`${PREFIX}::10`);
    const answers = await waitResolves(() => resolveName(exec, g1.ns, 'vm1.natnet', `${PREFIX}::1`, 'AAAA'), `${PREFIX}::10`, 10);
    expect(answers).toContain(`${PREFIX}::10`);
  });

  it('lease add --ip6 applies live (dnsmasq re-reads its hostsfile, same process): a second guest gets it', async () => {
    const before = await lab.dnsmasqPids();
    const g2 = await lab.addGuest();
    const add = await lab.mustCli(['lease', 'add', 'vm2', '192.168.100.11', '--mac', g2.mac, '--ip6', `${PREFIX}:0:0:0:11`]);
    expect(add.stdout).toContain(`vm2: 192.168.100.11 and ${PREFIX}::11`);
    const hosts = readFileSync(dnsmasqPaths(makeContext({ config: lab.configPath, stateDir: lab.stateDir }), 'natnet').hosts, 'utf8');
    expect(hosts).toContain(`${g2.mac},id:*,192.168.100.11,[${PREFIX}::11],vm2\n`);
    const d = await dhcp6(g2);
    expect(d.ip, d.output).toBe(`${PREFIX}::11`);
    expect(await lab.dnsmasqPids()).toEqual(before);
  });

  it('a bad ip6 is refused with one line naming it, and nothing is written', async () => {
    const file = join(lab.leasesDir, 'vm3.toml');
    const cases: [string, RegExp][] = [
      [`${PREFIX}::1001`, /ip6 = "fd00:1:2:3::1001": expected an address outside the DHCPv6 range fd00:1:2:3::1000-fd00:1:2:3::1fff of natnet$/],
      ['fd00:9::11', /ip6 = "fd00:9::11": expected an address inside the IPv6 prefix fd00:1:2:3::\/64 of natnet, or an interface identifier like ::10$/],
      [`${PREFIX}::10`, /ip6 = "fd00:1:2:3::10": expected an address not already reserved by .*vm1\.toml \(vm "vm1"\)$/],
      ['fd00::zz', /^natnet-hook: command line: ip6 = "fd00::zz": expected an IPv6 address like fd00:1:2:3::10 \(no prefix length, no brackets\)$/],
    ];
    for (const [ip6, why] of cases) {
      const r = await lab.cli(['lease', 'add', 'vm3', '192.168.100.12', '--ip6', ip6]);
      expect(r.code, r.all).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.all).toHaveLength(1);
      expect(lines[0]).toMatch(why);
      expect(existsSync(file)).toBe(false);
    }
  });

  it('leases shows the IPv6 leases, reserved with their VM', async () => {
    const r = await lab.mustCli(['leases', '--json']);
    const rows = JSON.parse(r.stdout) as { vm: string | null; ip: string; kind: string }[];
    expect(rows.filter((x) => x.ip.includes(':')).map((x) => [x.vm, x.ip, x.kind])).toEqual([
      ['vm1', `${PREFIX}::10`, 'reserved'],
      ['vm2', `${PREFIX}::11`, 'reserved'],
    ]);
    const table = await lab.mustCli(['leases']);
    expect(table.stdout).toMatch(new RegExp(`natnet +vm1 +52:54:00:aa:bb:01 +${PREFIX}::10 +vm1 .* reserved`));
  });
});

describe.skipIf(!req.ok)(`IPv6 reservation as an interface identifier on an ipv6 = "auto" network${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('ip6 = "::20" is served behind the generated prefix', async () => {
    lab.writeConfig(networkToml({ extra: ['ipv6 = "auto"', 'dhcpv6 = "stateful"'] }));
    lab.writeLeaseFile('vm1', 'vm = "vm1"\nip = "192.168.100.20"\nip6 = "::20"\nmac = "52:54:00:aa:bb:01"\n');
    await lab.mustCli(['up']);
    const status = JSON.parse((await lab.cli(['status', '--json'])).stdout) as { networks: { ipv6: { subnet: string | null } | null }[] };
    const subnet = status.networks[0].ipv6?.subnet;
    expect(subnet).toMatch(/^fd[0-9a-f:]+::$/);
    const g1 = await lab.addGuest();
    const d = await dhcp6Once(exec, { ns: g1.ns, name: g1.name, dir: g1.dir }, writeDhclient6Files(join(lab.dir, 'guests')));
    expect(d.ip, d.output).toBe(`${subnet}20`);
  });
});
