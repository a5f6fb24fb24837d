import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS } from '../helpers/lab-config.js';
import { BIN, exec } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

async function namespaces(): Promise<string[]> {
  const r = await exec(['ip', 'netns', 'list']);
  return r.stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('nnst-'));
}

describe.skipIf(!req.ok)(`natnet-hook selftest${req.reason}`, () => {
  it('passes every check, prints the table, and leaves no namespace behind', async () => {
    assertBuilt();
    const before = await namespaces();
    const r = await exec([process.execPath, BIN, 'selftest']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(9);
    expect(rows.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    for (const what of ['reserved lease', 'pool lease', 'NAT tcp', 'VM to VM', 'inbound', 'port forward', 'port forward hairpin', 'DNS', 'nothing listens outside']) {
      expect(r.stdout).toContain(what);
    }
    expect(await namespaces()).toEqual(before);
  });
});

const req6 = needs({ root: true, bins: [...LAB_BINS, 'dhclient'] });

/** selftest reads the config only to learn whether (and how) the network has IPv6: a temp config says so here. */
describe.skipIf(!req6.ok)(`natnet-hook selftest with IPv6${req6.reason}`, () => {
  const cases = [
    { mode: 'nat66', dhcpv6: 'stateful', ipv6: 'fd00:1:2:3::1/64', rows: ['IPv6 reserved lease (DHCPv6)', 'IPv6 pool lease (DHCPv6)', 'IPv6 NAT66 tcp', 'IPv6 NAT66 udp'] },
    { mode: 'routed', dhcpv6: 'stateless', ipv6: '2001:db8:7::1/64', rows: ['IPv6 SLAAC', 'IPv6 routed tcp', 'IPv6 routed udp'] },
  ];
  for (const c of cases) {
    it(`${c.mode} ${c.dhcpv6}: the IPv6 checks run and pass, and nothing is left behind`, async () => {
      assertBuilt();
      const dir = mkdtempSync(join(tmpdir(), 'natnet-selftest6-'));
      try {
        mkdirSync(join(dir, 'etc'));
        writeFileSync(join(dir, 'etc', 'config.toml'), `[[network]]\nname = "natnet"\nipv6 = "${c.ipv6}"\nipv6_mode = "${c.mode}"\ndhcpv6 = "${c.dhcpv6}"\n`);
        const before = await namespaces();
        const r = await exec([process.execPath, BIN, '--config', join(dir, 'etc', 'config.toml'), '--state-dir', join(dir, 'state'), 'selftest']);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain(`IPv6 ${c.mode} ${c.dhcpv6}`);
        const rows = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
        expect(rows.filter((l) => l.startsWith('FAIL'))).toEqual([]);
        for (const what of [...c.rows, 'IPv6 default route', 'IPv6 inbound from upstream to vm1 is rejected', 'DNS AAAA', 'nothing listens outside']) {
          expect(r.stdout).toContain(what);
        }
        expect(await namespaces()).toEqual(before);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);
  }
});
