import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runLeaseAdd, runLeaseList } from '../../src/commands/lease.js';
import { loadConfig } from '../../src/config/load.js';
import { type Context, makeContext } from '../../src/engine/context.js';
import { buildDomainRecord } from '../../src/hook/domain-record.js';
import { NATNET_XMLNS } from '../../src/libvirt/metadata.js';
import { silentLogger } from '../../src/log.js';
import { normaliseLease } from '../../src/config/lease.js';
import { parseMainConfig, parseVmFile } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { validateLeases } from '../../src/config/validate.js';
import { formatProblem } from '../../src/errors.js';
import { parseDomainXml } from '../../src/libvirt/domain.js';
import type { DomainRecord, Lease, Network } from '../../src/model/types.js';
import { resolveIpv6 } from '../../src/config/network-ipv6.js';
import { parseIPv6 } from '../../src/net/ipv6.js';
import { reservationsFor, servedIp6 } from '../../src/plan/reservations.js';
import { renderHostsfile } from '../../src/render/dnsmasq.js';
import { renderLeaseFile, renderVmFile } from '../../src/render/lease-file.js';
import { domainRecord } from '../../src/state/schema.js';

const MAC = '52:54:00:aa:bb:01';

/** The handbook network with an IPv6 side, from config text. */
function network(v6 = 'ipv6 = "fd00:1:2:3::1/64"\ndhcpv6 = "stateful"\n'): Network {
  const p = new Problems('config.toml');
  const net = parseMainConfig(`[[network]]\nname = "natnet"\naddress = "192.168.100.1/24"\n${v6}`, p).networks[0];
  expect(p.list).toEqual([]);
  return net;
}

function lease(raw: Record<string, unknown>, field = 'lease[0]', file = 'config.toml'): { lease: Lease | null; problems: string[] } {
  const p = new Problems(file);
  const l = normaliseLease(raw, field, p);
  return { lease: l, problems: p.list.map(formatProblem) };
}

const problemsOf = (nets: Network[], leases: Lease[]) => validateLeases(nets, leases).map(formatProblem);

describe('ip6 in a reservation: the key', () => {
  it('is optional (null), and kept in RFC 5952 form whatever form was written', () => {
    expect(lease({ vm: 'a', ip: '192.168.100.10' }).lease?.ip6).toBeNull();
    expect(lease({ vm: 'a', ip: '192.168.100.10', ip6: 'FD00:0001:0002:0003:0000:0000:0000:0010' }).lease?.ip6).toBe('fd00:1:2:3::10');
    expect(lease({ vm: 'a', ip: '192.168.100.10', ip6: 'fd00:1:2:3:0:0:0:10' }).lease?.ip6).toBe('fd00:1:2:3::10');
  });
  it('anything but one IPv6 address is one line naming file, field, value and what is expected', () => {
    for (const bad of ['fd00::10/64', '[fd00::10]', 'fd00::10%eth0', '192.168.100.10', 'fd00::1::2', '', 42, ['fd00::10']]) {
      const r = lease({ vm: 'a', ip: '192.168.100.10', ip6: bad });
      expect(r.lease).toBeNull();
      expect(r.problems).toEqual([`config.toml: lease[0].ip6 = ${JSON.stringify(bad)}: expected an IPv6 address like fd00:1:2:3::10 (no prefix length, no brackets)`]);
    }
  });
  it('is a known key of [[lease]] and of a leases.d file', () => {
    const p = new Problems('web.toml');
    const { leases } = parseVmFile(`vm = "web"\nip = "192.168.100.10"\nip6 = "fd00:1:2:3::10"\nmac = ["${MAC}"]\n`, p);
    expect(p.list).toEqual([]);
    expect(leases[0].ip6).toBe('fd00:1:2:3::10');
    const q = new Problems('config.toml');
    parseMainConfig('[[lease]]\nvm = "web"\nip = "192.168.100.10"\nip6 = "fd00:1:2:3::10"\n', q);
    expect(q.list).toEqual([]);
  });
});

describe('ip6 against the network and the other reservations', () => {
  const l = (vm: string, ip: string, ip6: string | null, field = 'lease[0]'): Lease => ({
    vm,
    ip,
    ip6,
    macs: [],
    hostname: null,
    source: { file: '/etc/natnet-hook/leases.d/x.toml', field },
  });
  it('fine: inside the prefix, outside the DHCPv6 range, once', () => {
    expect(problemsOf([network()], [l('a', '192.168.100.10', 'fd00:1:2:3::10'), l('b', '192.168.100.11', 'fd00:1:2:3::2000')])).toEqual([]);
  });
  it('only on a network with dhcpv6 = "stateful"', () => {
    expect(problemsOf([network('ipv6 = "fd00:1:2:3::1/64"\n')], [l('a', '192.168.100.10', 'fd00:1:2:3::10')])).toEqual([
      '/etc/natnet-hook/leases.d/x.toml: lease[0].ip6 = "fd00:1:2:3::10": ip6 needs dhcpv6 = "stateful" on network natnet',
    ]);
    expect(problemsOf([network('')], [l('a', '192.168.100.10', 'fd00:1:2:3::10')])).toEqual([
      '/etc/natnet-hook/leases.d/x.toml: lease[0].ip6 = "fd00:1:2:3::10": ip6 needs ipv6 and dhcpv6 = "stateful" on network natnet',
    ]);
  });
  it('inside the prefix, not its anycast or gateway address, outside the range', () => {
    const cases: [string, string][] = [
      ['fd00:1:2:4::10', 'expected an address inside the IPv6 prefix fd00:1:2:3::/64 of natnet, or an interface identifier like ::10'],
      ['::1', 'expected an address other than the IPv6 gateway of natnet'],
      ['::1234', 'expected an address outside the DHCPv6 range fd00:1:2:3::1000-fd00:1:2:3::1fff of natnet'],
      ['fd00:1:2:3::', 'expected a host address, not the subnet-router anycast address of natnet'],
      ['fd00:1:2:3::1', 'expected an address other than the IPv6 gateway of natnet'],
      ['fd00:1:2:3::1000', 'expected an address outside the DHCPv6 range fd00:1:2:3::1000-fd00:1:2:3::1fff of natnet'],
      ['fd00:1:2:3::1abc', 'expected an address outside the DHCPv6 range fd00:1:2:3::1000-fd00:1:2:3::1fff of natnet'],
      ['fd00:1:2:3::1fff', 'expected an address outside the DHCPv6 range fd00:1:2:3::1000-fd00:1:2:3::1fff of natnet'],
    ];
    for (const [ip6, why] of cases) {
      expect(problemsOf([network()], [l('a', '192.168.100.10', ip6)])).toEqual([`/etc/natnet-hook/leases.d/x.toml: lease[0].ip6 = "${ip6}": ${why}`]);
    }
  });
  it('reserved twice: the second names the first', () => {
    expect(problemsOf([network()], [l('a', '192.168.100.10', 'fd00:1:2:3::10'), l('b', '192.168.100.11', 'fd00:1:2:3::10', 'lease[1]')])).toEqual([
      '/etc/natnet-hook/leases.d/x.toml: lease[1].ip6 = "fd00:1:2:3::10": expected an address not already reserved by /etc/natnet-hook/leases.d/x.toml lease[0] (vm "a")',
    ]);
  });
  it('an address outside the prefix is that problem alone, not a twin of the address with the same interface identifier', () => {
    expect(problemsOf([network()], [l('a', '192.168.100.10', 'fd00:1:2:3::10'), l('b', '192.168.100.11', 'fd00:9::10', 'lease[1]')])).toEqual([
      '/etc/natnet-hook/leases.d/x.toml: lease[1].ip6 = "fd00:9::10": expected an address inside the IPv6 prefix fd00:1:2:3::/64 of natnet, or an interface identifier like ::10',
    ]);
  });
  it('a problem involves the leases it is about (metadata leases are dropped by that)', () => {
    const a = l('a', '192.168.100.10', 'fd00:1:2:3::10');
    const b = l('b', '192.168.100.11', 'fd00:1:2:3::10');
    expect(validateLeases([network()], [a, b]).map((p) => p.involved)).toEqual([[b, a]]);
  });
  it('an interface identifier ("::10") is inside the prefix; it and the full address are one address', () => {
    expect(problemsOf([network()], [l('a', '192.168.100.10', '::10')])).toEqual([]);
    expect(problemsOf([network()], [l('a', '192.168.100.10', '::10'), l('b', '192.168.100.11', 'fd00:1:2:3::10', 'lease[1]')])).toEqual([
      '/etc/natnet-hook/leases.d/x.toml: lease[1].ip6 = "fd00:1:2:3::10": expected an address not already reserved by /etc/natnet-hook/leases.d/x.toml lease[0] (vm "a")',
    ]);
  });
  it('ipv6 = "auto": only interface identifiers (the prefix is generated by the first up), checked before and after it', () => {
    const auto = network('ipv6 = "auto"\ndhcpv6 = "stateful"\n');
    const resolved = { ...auto, ipv6: resolveIpv6(auto.ipv6!, parseIPv6('fd12:3456:789a:1::')!) };
    expect(problemsOf([auto], [l('a', '192.168.100.10', '::10'), l('b', '192.168.100.11', '::20')])).toEqual([]);
    expect(problemsOf([resolved], [l('a', '192.168.100.10', '::10'), l('b', '192.168.100.11', '::20')])).toEqual([]);
    expect(problemsOf([auto], [l('a', '192.168.100.10', '::1'), l('b', '192.168.100.11', '::1000', 'lease[1]')])).toEqual([
      '/etc/natnet-hook/leases.d/x.toml: lease[0].ip6 = "::1": expected an address other than the IPv6 gateway of natnet',
      '/etc/natnet-hook/leases.d/x.toml: lease[1].ip6 = "::1000": expected an address outside the DHCPv6 range ::1000-::1fff of natnet',
    ]);
    // a full address: refused before the first up and after it, even inside the generated prefix (the config must not turn fatal after up)
    for (const net of [auto, resolved]) {
      for (const ip6 of ['fd12:3456:789a:1::10', 'fd99::10']) {
        expect(problemsOf([net], [l('a', '192.168.100.10', ip6)])).toEqual([
          `/etc/natnet-hook/leases.d/x.toml: lease[0].ip6 = "${ip6}": expected an interface identifier like ::10 (an auto prefix is generated by the first up)`,
        ]);
      }
    }
  });
});

describe('ip6 written and served', () => {
  const web: Lease = { vm: 'web', ip: '192.168.100.10', ip6: 'fd00:1:2:3::10', macs: [MAC], hostname: 'web', source: { file: 'x', field: '' } };
  it('lease add writes it, and the file reads back the same', () => {
    const text = renderLeaseFile(web);
    expect(text).toBe(`# written by natnet-hook lease add; edit freely\nvm = "web"\nip = "192.168.100.10"\nip6 = "fd00:1:2:3::10"\nmac = ["${MAC}"]\nhostname = "web"\n`);
    const p = new Problems('x');
    expect(parseVmFile(text, p).leases).toEqual([web]);
    expect(p.list).toEqual([]);
  });
  it('a file of several [[lease]] tables keeps each ip6', () => {
    const other = { ...web, ip: '192.168.100.11', ip6: null, macs: ['52:54:00:aa:bb:02'], hostname: null };
    const p = new Problems('x');
    const at = (l: Lease, i: number) => ({ ...l, source: { file: 'x', field: `lease[${i}]` } });
    expect(parseVmFile(renderVmFile([web, other], []), p).leases).toEqual([at(web, 0), at(other, 1)]);
  });
  it('dnsmasq is served the full address: an interface identifier behind the (resolved) prefix; none without stateful DHCPv6', () => {
    expect(servedIp6(network(), '::10')).toBe('fd00:1:2:3::10');
    expect(servedIp6(network(), 'fd00:1:2:3::10')).toBe('fd00:1:2:3::10');
    const auto = network('ipv6 = "auto"\ndhcpv6 = "stateful"\n');
    expect(servedIp6({ ...auto, ipv6: resolveIpv6(auto.ipv6!, parseIPv6('fd12:3456:789a:1::')!) }, '::10')).toBe('fd12:3456:789a:1::10');
    expect(servedIp6(network('ipv6 = "fd00:1:2:3::1/64"\n'), 'fd00:1:2:3::10')).toBeNull();
    expect(servedIp6(network(''), 'fd00:1:2:3::10')).toBeNull();
    expect(servedIp6(network(), null)).toBeNull();
  });
  it('the hostsfile line carries it in brackets between the IPv4 address and the name', () => {
    const { reservations } = reservationsFor(network(), [web, { ...web, vm: 'db', ip: '192.168.100.11', ip6: null, macs: ['52:54:00:aa:bb:02'], hostname: 'db' }], []);
    expect(renderHostsfile(reservations)).toBe(`${MAC},id:*,192.168.100.10,[fd00:1:2:3::10],web\n52:54:00:aa:bb:02,id:*,192.168.100.11,db\n`);
  });
});

describe('ip6 in the domain metadata and the domain record', () => {
  const meta = (attrs: string) =>
    parseDomainXml(`<domain><name>web</name><metadata><n:lease xmlns:n="https://natnet-hook.dev/xmlns/1" ip="192.168.100.20" ${attrs}/></metadata></domain>`);
  it('ip6= is read in RFC 5952 form', () => {
    const d = meta('ip6="FD00:1:2:3:0::20"');
    expect([d.metadataLeases, d.metadataProblems]).toEqual([[{ ip: '192.168.100.20', ip6: 'fd00:1:2:3::20' }], []]);
  });
  it('a bad ip6= drops the lease with one line', () => {
    const d = meta('ip6="fd00::zz"');
    expect([d.metadataLeases, d.metadataProblems]).toEqual([[], ['lease.ip6 = "fd00::zz": expected an IPv6 address like fd00:1:2:3::20']]);
  });
  it('the record on disk keeps it (its shape checked; its content re-validated as a lease on load)', () => {
    const rec = { vm: 'web', nics: [], metadataLeases: [{ ip: '192.168.100.20', ip6: 'fd00:1:2:3::20' }], running: false, updated: '2026-01-01T00:00:00.000Z' };
    expect(domainRecord(rec)).toEqual(rec);
    expect(() => domainRecord({ ...rec, metadataLeases: [{ ip: '192.168.100.20', ip6: 7 }] })).toThrow(/metadataLeases\[0\]\.ip6/);
  });
});

describe('ip6 through the files: lease add --ip6, lease list, metadata against leases.d', () => {
  let dir: string;
  let ctx: Context;
  let out: string;
  const NET6 = '[[network]]\nname = "natnet"\naddress = "192.168.100.1/24"\nipv6 = "fd00:1:2:3::1/64"\ndhcpv6 = "stateful"\n';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'natnet-lease6-'));
    writeFileSync(join(dir, 'config.toml'), NET6);
    mkdirSync(join(dir, 'leases.d'));
    ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger(), env: {} });
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });
  const record = (meta: string) => {
    const xml = `<domain><name>web</name><metadata>${meta}</metadata><devices><interface type='bridge'><mac address='${MAC}'/><source bridge='virbr10'/></interface></devices></domain>`;
    const info = parseDomainXml(xml);
    return buildDomainRecord(info, { libvirtNetworks: {}, previous: null, ours: new Set(['virbr10']), now: new Date('2026-01-01T00:00:00Z') });
  };

  it('lease add --ip6 writes it in RFC 5952 form and says so; lease list shows it', async () => {
    await runLeaseAdd(ctx, 'web', '192.168.100.10', { ip6: 'FD00:1:2:3:0:0:0:10', mac: [MAC] });
    expect(readFileSync(join(dir, 'leases.d', 'web.toml'), 'utf8')).toContain('ip6 = "fd00:1:2:3::10"\n');
    expect(out).toBe(`web: 192.168.100.10 and fd00:1:2:3::10 (${MAC}) reserved in ${join(dir, 'leases.d', 'web.toml')}\n`);
    out = '';
    await runLeaseList(ctx, { json: true });
    expect(JSON.parse(out)[0]).toMatchObject({ vm: 'web', ip: '192.168.100.10', ip6: 'fd00:1:2:3::10', network: 'natnet' });
  });
  it('lease add --ip6 inside the DHCPv6 range: one line, nothing written', async () => {
    await expect(runLeaseAdd(ctx, 'web', '192.168.100.10', { ip6: 'fd00:1:2:3::1001' })).rejects.toThrow(
      new RegExp(`^${join(dir, 'leases.d', 'web.toml')}: ip6 = "fd00:1:2:3::1001": expected an address outside the DHCPv6 range fd00:1:2:3::1000-fd00:1:2:3::1fff of natnet$`),
    );
    expect(readdirSync(join(dir, 'leases.d'))).toEqual([]);
  });
  it('metadata ip6= reaches the hostsfile; one saying another ip6 than leases.d is refused naming both', () => {
    const meta = (ip6: string) => record(`<n:lease xmlns:n="${NATNET_XMLNS}" ip="192.168.100.20" ip6="${ip6}"/>`);
    const hosts = (domain: DomainRecord) => {
      const cfg = loadConfig(ctx, { domain });
      return renderHostsfile(reservationsFor(cfg.networks[0], cfg.leases, cfg.domains).reservations);
    };
    expect(hosts(meta('fd00:1:2:3::20'))).toBe(`${MAC},id:*,192.168.100.20,[fd00:1:2:3::20],web\n`);
    writeFileSync(join(dir, 'leases.d', 'web.toml'), 'vm = "web"\nip = "192.168.100.20"\nip6 = "fd00:1:2:3::21"\n');
    expect(() => loadConfig(ctx, { domain: meta('fd00:1:2:3::20') })).toThrow(
      /domain "web" <metadata>: lease\[0\]\.ip6 = "fd00:1:2:3::20": expected fd00:1:2:3::21, the address .*leases\.d\/web\.toml reserves/,
    );
    // metadata without ip6 says nothing against it
    expect(hosts(record(`<n:lease xmlns:n="${NATNET_XMLNS}" ip="192.168.100.20"/>`))).toBe(`${MAC},id:*,192.168.100.20,[fd00:1:2:3::21],web\n`);
  });
});
