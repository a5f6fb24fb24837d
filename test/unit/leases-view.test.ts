import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeContext } from '../../src/engine/context.js';
import type { Logger } from '../../src/log.js';
import type { DomainRecord, Reservation } from '../../src/model/types.js';
import { leaseFileText, macOfDuid, parseLeaseFile, readDnsmasqLeases, readLeaseFile } from '../../src/observe/dnsmasq-leases.js';
import { joinLeases, readLeaseView } from '../../src/observe/lease-view.js';
import { dnsmasqPaths, domainFile } from '../../src/state/layout.js';
import { runCompleteNetworks } from '../../src/commands/completion.js';

const A = '52:54:00:aa:bb:01';
const B = '52:54:00:aa:bb:02';
const C = '52:54:00:aa:bb:03';

describe('dnsmasq lease file (untrusted)', () => {
  it('reads dnsmasq lines; 0 is an infinite lease, * no hostname; the duid line is not a lease', () => {
    const text = `1764540000 ${A} 192.168.100.10 web1 01:${A}\n0 ${B.toUpperCase()} 192.168.100.200 * *\nduid 00:01:00:01\n\n`;
    expect(readDnsmasqLeases(text)).toEqual({
      leases: [
        { expiry: 1764540000, mac: A, ip: '192.168.100.10', hostname: 'web1', line: 1 },
        { expiry: null, mac: B, ip: '192.168.100.200', hostname: null, line: 2 },
      ],
      leases6: [],
      bad: [],
    });
  });
  it('DHCPv6 leases follow the duid line (as dnsmasq 2.90 writes them); the MAC from a DUID-LLT or DUID-LL', () => {
    const text = [
      `1764540000 ${A} 192.168.100.10 vm1 *`,
      'duid 00:01:00:01:32:a0:f8:e3:52:54:00:7e:27:af',
      `1796102577 11188993 fd00:1:2:3::10 vm1 00:01:00:01:32:a0:f8:e5:${A}`,
      '0 T7 FD00:1:2:3:0:0:0:1000 * 00:03:00:01:52:54:00:AA:BB:02',
      '1796102577 4294967295 fd00:1:2:3::1001 x 00:04:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10',
      '1796102577 1 fd00:1:2:3::1002 * *',
      '',
    ].join('\n');
    expect(readDnsmasqLeases(text)).toEqual({
      leases: [{ expiry: 1764540000, mac: A, ip: '192.168.100.10', hostname: 'vm1', line: 1 }],
      leases6: [
        { expiry: 1796102577, iaid: 11188993, temporary: false, ip: 'fd00:1:2:3::10', hostname: 'vm1', duid: `00:01:00:01:32:a0:f8:e5:${A}`, mac: A, line: 3 },
        { expiry: null, iaid: 7, temporary: true, ip: 'fd00:1:2:3::1000', hostname: null, duid: `00:03:00:01:${B}`, mac: B, line: 4 },
        { expiry: 1796102577, iaid: 4294967295, temporary: false, ip: 'fd00:1:2:3::1001', hostname: 'x', duid: '00:04:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10', mac: null, line: 5 },
        { expiry: 1796102577, iaid: 1, temporary: false, ip: 'fd00:1:2:3::1002', hostname: null, duid: null, mac: null, line: 6 },
      ],
      bad: [],
    });
  });
  it('a DHCPv6 line that is not exactly its shape is skipped and named; so is an IPv4 line after the duid line', () => {
    const lines = [
      'duid 00:01:00:01:32:a0:f8:e3:52:54:00:7e:27:af',
      '1796102577 1 fd00:1:2:3::10 ok *',
      `1796102577 ${A} 192.168.100.10 v4-after-duid *`,
      '1796102577 4294967296 fd00:1:2:3::11 x *',
      '1796102577 X1 fd00:1:2:3::12 x *',
      '1796102577 1 192.168.100.13 x *',
      '1796102577 1 fd00:1:2:3::14/64 x *',
      '1796102577 1 fd00:1:2:3::15 ../../etc *',
      '1796102577 1 fd00:1:2:3::16 x zz:zz',
      '1796102577 1 fd00:1:2:3::17 x',
      'soon 1 fd00:1:2:3::18 x *',
    ];
    const r = readDnsmasqLeases(lines.join('\n'));
    expect(r.leases6.map((l) => l.ip)).toEqual(['fd00:1:2:3::10']);
    expect(r.leases).toEqual([]);
    expect(r.bad.map((b) => b.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(r.bad[0].why).toBe(`IAID "${A}": expected a 32-bit number (T in front for a temporary address)`);
    expect(r.bad[3].why).toBe('IP "192.168.100.13": expected an IPv6 address');
    expect(r.bad[5].why).toMatch(/^hostname "..\/..\/etc"/);
    expect(r.bad[6].why).toBe('DUID "zz:zz": expected hex octets with colons or *');
    expect(r.bad[7].why).toBe('expected "EXPIRY IAID IPV6 HOSTNAME CLIENT-DUID" (a DHCPv6 lease, after the duid line), got 4 fields');
  });
  it('the MAC of a DUID: only Ethernet DUID-LLT and DUID-LL carry one', () => {
    expect(macOfDuid(`00:01:00:01:32:a0:f8:e5:${A}`)).toBe(A);
    expect(macOfDuid(`00:03:00:01:${A}`)).toBe(A);
    expect(macOfDuid(`00:03:00:06:${A}`)).toBeNull();
    expect(macOfDuid('00:03:00:01:52:54:00:aa')).toBeNull();
    expect(macOfDuid('00:02:00:00:ab:11:01:02')).toBeNull();
  });
  it('every line that is not a lease is skipped and named with its line number', () => {
    const lines = [
      `1764540000 ${A} 192.168.100.10 ok *`,
      'garbage',
      `soon ${A} 192.168.100.11 x *`,
      `1764540000 not-a-mac 192.168.100.12 x *`,
      `1764540000 ${A} 192.168.100.300 x *`,
      `1764540000 ${A} 192.168.100.13 ../../etc *`,
      `1764540000 ${A} 192.168.100.14 a\u001bb *`,
      `99999999999999 ${A} 192.168.100.15 x *`,
      `1764540000 ${A} 192.168.100.16 x * extra`,
    ];
    const r = readDnsmasqLeases(lines.join('\n'));
    expect(r.leases.map((l) => l.ip)).toEqual(['192.168.100.10']);
    expect(r.bad.map((b) => b.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.bad[0].why).toBe('expected "EXPIRY MAC IP HOSTNAME [CLIENT-ID]", got 1 field');
    expect(r.bad[2].why).toMatch(/^MAC "not-a-mac"/);
    expect(r.bad[3].why).toMatch(/^IP "192.168.100.300"/);
    expect(r.bad[4].why).toMatch(/^hostname "..\/..\/etc"/);
  });
  it('status keeps its view: UTC ISO time or "never"', () => {
    expect(parseLeaseFile(`1764540000 ${A} 192.168.100.10 web1 *\n0 ${B} 192.168.100.11 * *\n`)).toEqual([
      { expires: new Date(1764540000 * 1000).toISOString(), mac: A, ip: '192.168.100.10', hostname: 'web1' },
      { expires: 'never', mac: B, ip: '192.168.100.11', hostname: null },
    ]);
  });
});

describe('joining leases with VM names', () => {
  const reservations: Reservation[] = [{ vm: 'web1', macs: [A], ip: '192.168.100.10', ip6: null, hostname: 'web1' }];
  const domains: DomainRecord[] = [
    { vm: 'db', nics: [{ mac: B, bridge: 'virbr10' }], metadataLeases: [], running: true, updated: '' },
    { vm: 'elsewhere', nics: [{ mac: C, bridge: 'virbr99' }], metadataLeases: [], running: true, updated: '' },
  ];
  const now = 1_000_000;
  it('reserved when dnsmasq served the reservation; pool otherwise; the VM from the reservation or the hook record', () => {
    const rows = joinLeases(
      'natnet',
      [
        { expiry: null, mac: C, ip: '192.168.100.201', hostname: null },
        { expiry: now + 60, mac: B, ip: '192.168.100.200', hostname: 'db' },
        { expiry: now + 60, mac: A, ip: '192.168.100.10', hostname: 'web1' },
        { expiry: now + 60, mac: '52:54:00:00:00:99', ip: '192.168.100.202', hostname: 'stranger' },
      ],
      reservations,
      domains,
      'virbr10',
      now,
    );
    expect(rows.map((r) => [r.ip, r.vm, r.kind])).toEqual([
      ['192.168.100.10', 'web1', 'reserved'],
      ['192.168.100.200', 'db', 'pool'],
      ['192.168.100.201', 'elsewhere', 'pool'],
      ['192.168.100.202', null, 'pool'],
    ]);
  });
  it('a reserved VM still on an old pool address is pool, with its name; expired leases are not shown', () => {
    const rows = joinLeases(
      'natnet',
      [
        { expiry: now + 1, mac: A, ip: '192.168.100.150', hostname: 'web1' },
        { expiry: now - 1, mac: B, ip: '192.168.100.151', hostname: 'db' },
      ],
      reservations,
      domains,
      'virbr10',
      now,
    );
    expect(rows).toEqual([{ network: 'natnet', vm: 'web1', mac: A, ip: '192.168.100.150', hostname: 'web1', expiry: now + 1, kind: 'pool' }]);
  });
  it('DHCPv6 leases after the IPv4 ones: reserved by the ip6 whatever the DUID says; the VM from the DUID\'s MAC otherwise', () => {
    const withIp6: Reservation[] = [{ ...reservations[0], ip6: 'fd00:1:2:3::10' }];
    const six = (ip: string, mac: string | null, expiry: number | null = now + 60) => ({ expiry, iaid: 1, temporary: false, ip, hostname: null, duid: null, mac });
    const rows = joinLeases(
      'natnet',
      [{ expiry: now + 60, mac: A, ip: '192.168.100.10', hostname: 'web1' }],
      withIp6,
      domains,
      'virbr10',
      now,
      [six('fd00:1:2:3::1001', B), six('fd00:1:2:3::10', null), six('fd00:1:2:3::1000', null), six('fd00:1:2:3::1002', A, now - 1)],
    );
    expect(rows.map((r) => [r.ip, r.vm, r.mac, r.kind])).toEqual([
      ['192.168.100.10', 'web1', A, 'reserved'],
      ['fd00:1:2:3::10', 'web1', null, 'reserved'],
      ['fd00:1:2:3::1000', null, null, 'pool'],
      ['fd00:1:2:3::1001', 'db', B, 'pool'],
    ]);
  });
});

describe('reading the view from a state dir', () => {
  let dir: string;
  let warnings: string[];
  let out: string;
  const log: Logger = { debug() {}, info() {}, warn: (a: object | string, m?: string) => warnings.push(typeof a === 'string' ? a : (m ?? '')), error() {} };
  const write = process.stdout.write.bind(process.stdout);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'natnet-leases-'));
    warnings = [];
    out = '';
    process.env.NATNET_HOOK_ALLOW_UNSAFE_DIRS = '1';
  });
  afterEach(() => {
    process.stdout.write = write;
    delete process.env.NATNET_HOOK_ALLOW_UNSAFE_DIRS;
    rmSync(dir, { recursive: true, force: true });
  });
  const ctx = () => makeContext({ config: join(dir, 'etc/config.toml'), stateDir: join(dir, 'state'), log });

  it('joins the lease file with the config reservation and the hook record; bad lines are warnings naming file and line', () => {
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc/config.toml'), `[[lease]]\nvm = "web1"\nip = "192.168.100.10"\nmac = "${A}"\n`);
    const c = ctx();
    const leases = dnsmasqPaths(c, 'natnet').leases;
    mkdirSync(join(dir, 'state/lib/domains'), { recursive: true });
    writeFileSync(domainFile(c, 'db'), JSON.stringify({ vm: 'db', nics: [{ mac: B, bridge: 'virbr10' }], metadataLeases: [], running: true, updated: '2026-01-01T00:00:00.000Z' }));
    writeFileSync(leases, `4000000000 ${A} 192.168.100.10 web1 *\nnonsense here\n4000000000 ${B} 192.168.100.200 db *\n`);
    const rows = readLeaseView(c, undefined, 1000);
    expect(rows.map((r) => [r.vm, r.ip, r.kind])).toEqual([
      ['web1', '192.168.100.10', 'reserved'],
      ['db', '192.168.100.200', 'pool'],
    ]);
    expect(warnings).toEqual([`${leases} line 2: expected "EXPIRY MAC IP HOSTNAME [CLIENT-ID]", got 2 fields (skipped)`]);
  });
  it('no lease file yet: no leases, no warning; an unknown network is a usage error', () => {
    expect(readLeaseView(ctx(), ['natnet'])).toEqual([]);
    expect(warnings).toEqual([]);
    expect(() => readLeaseView(ctx(), ['nope'])).toThrow(/unknown network "nope"/);
  });
  it('a lease file that is a directory is a warning, the rest of the view stands', () => {
    const c = ctx();
    mkdirSync(dnsmasqPaths(c, 'natnet').leases, { recursive: true });
    expect(readLeaseView(c, undefined)).toEqual([]);
    expect(warnings).toEqual([`${dnsmasqPaths(c, 'natnet').leases}: expected a regular file, found a directory (its leases are not shown)`]);
  });
  it('complete-networks prints the configured names (no config file: the built-in one), and nothing for a config it cannot read', async () => {
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc/config.toml'), '[[network]]\nname = "a"\nbridge = "br-a"\naddress = "10.9.0.1/24"\n');
    process.stdout.write = ((s: string) => {
      out += s;
      return true;
    }) as typeof process.stdout.write;
    await runCompleteNetworks({ config: join(dir, 'etc/config.toml') });
    await runCompleteNetworks({ config: join(dir, 'missing-dir/nope/config.toml'), stateDir: join(dir, 'x') });
    writeFileSync(join(dir, 'etc/bad.toml'), '[[network\n');
    await runCompleteNetworks({ config: join(dir, 'etc/bad.toml') });
    process.stdout.write = write;
    expect(out).toBe('a\nnatnet\n');
  });
});

describe('readLeaseFile (the one way a lease file is read)', () => {
  let d: string;
  beforeEach(() => {
    d = mkdtempSync(join(tmpdir(), 'nn-leasefile-'));
  });
  afterEach(() => rmSync(d, { recursive: true, force: true }));

  it('its text; null when there is none', () => {
    writeFileSync(join(d, 'n.leases'), `0 ${A} 192.168.100.10 * *\n`);
    expect(readLeaseFile(join(d, 'n.leases'))).toBe(`0 ${A} 192.168.100.10 * *\n`);
    expect(readLeaseFile(join(d, 'none.leases'))).toBeNull();
  });
  it('a symlink in its place is refused, not followed; a FIFO neither blocks nor is read; leaseFileText says why and gives ""', () => {
    writeFileSync(join(d, 'elsewhere'), `0 ${A} 192.168.100.10 * *\n`);
    symlinkSync(join(d, 'elsewhere'), join(d, 'link.leases'));
    expect(() => readLeaseFile(join(d, 'link.leases'))).toThrow('expected a regular file, found a symbolic link');
    execFileSync('mkfifo', [join(d, 'fifo.leases')]);
    expect(() => readLeaseFile(join(d, 'fifo.leases'))).toThrow('expected a regular file, found a FIFO (named pipe)');
    const why: unknown[] = [];
    expect(leaseFileText(join(d, 'fifo.leases'), (e) => why.push(e))).toBe('');
    expect(why).toHaveLength(1);
  });
});
