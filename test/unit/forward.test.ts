import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePorts, portSegments, resolveForwards, splitPortProto } from '../../src/config/forward.js';
import { loadConfig } from '../../src/config/load.js';
import { parseMainConfig, parseVmFile } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { forwardStatus } from '../../src/engine/forward-status.js';
import { makeContext } from '../../src/engine/context.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { parseProcNet } from '../../src/observe/listening.js';
import { parseIptablesSave } from '../../src/observe/iptables.js';
import { iptablesDrift, nftDrift } from '../../src/plan/firewall-drift.js';
import { boundForwardPorts, forwardsOf } from '../../src/plan/forwards.js';
import { iptablesChains } from '../../src/render/names.js';
import { renderVmFile } from '../../src/render/lease-file.js';
import { nftChains } from '../../src/render/nft.js';

const NET = '[[network]]\nname = "n"\nbridge = "virbr10"\naddress = "192.168.100.1/24"\n';
const lease = (vm: string, ip: string) => `[[lease]]\nvm = "${vm}"\nip = "${ip}"\n`;
const fwd = (body: string) => `[[forward]]\n${body}\n`;

function load(text: string) {
  const p = new Problems('config.toml');
  const cfg = parseMainConfig(text, p);
  const r = resolveForwards(cfg.networks, cfg.leases, cfg.forwards);
  return {
    cfg,
    resolved: r.resolved,
    problems: [...p.list, ...r.problems].map((x) => `${x.field}${x.value === undefined ? '' : ` = ${JSON.stringify(x.value)}`}: ${x.expected}`),
  };
}

describe('port grammar', () => {
  it.each([
    ['8080', [{ first: 8080, last: 8080 }]],
    ['8000-8010', [{ first: 8000, last: 8010 }]],
    ['80,443,9000-9009', [{ first: 80, last: 80 }, { first: 443, last: 443 }, { first: 9000, last: 9009 }]],
    [' 80 , 443 ', [{ first: 80, last: 80 }, { first: 443, last: 443 }]],
  ])('%s', (text, want) => expect(parsePorts(text)).toEqual(want));

  it.each(['', '0', '65536', '080', '10-5', '80,80', '80-90,85', 'http', '80-', '1.5', '80;443'])('refuses %j', (text) => expect(parsePorts(text)).toBeNull());

  it('PORT[/PROTO]', () => {
    expect(splitPortProto('8080/udp')).toEqual({ port: '8080', proto: 'udp' });
    expect(splitPortProto('80,443')).toEqual({ port: '80,443', proto: null });
  });

  it('to_port: same count position by position, one port for all, runs that keep their numbers stay one segment', () => {
    expect(portSegments([{ first: 8000, last: 8002 }], [{ first: 9000, last: 9002 }])).toEqual([
      { first: 8000, last: 8000, to: 9000 },
      { first: 8001, last: 8001, to: 9001 },
      { first: 8002, last: 8002, to: 9002 },
    ]);
    expect(portSegments([{ first: 8000, last: 8010 }], [{ first: 80, last: 80 }])).toEqual([{ first: 8000, last: 8010, to: 80 }]);
    expect(portSegments([{ first: 80, last: 80 }], [{ first: 80, last: 80 }])).toEqual([{ first: 80, last: 80, to: null }]);
    expect(portSegments([{ first: 80, last: 82 }], [{ first: 80, last: 82 }])).toEqual([{ first: 80, last: 82, to: null }]);
    expect(portSegments([{ first: 80, last: 82 }], [{ first: 1, last: 2 }])).toMatch(/as many ports as port has \(3; this has 2\)/);
    expect(portSegments([{ first: 1, last: 2000 }], [{ first: 20001, last: 22000 }])).toMatch(/at most 1024 remapped ports/);
  });
});

describe('[[forward]] validation: one line per problem, naming file, field, value, expected', () => {
  it('a good forward resolves to the VM reservation', () => {
    const r = load(NET + lease('web', '192.168.100.10') + fwd('vm = "web"\nport = 8080\nto_port = "80"\nsource = "198.51.100.7"'));
    expect(r.problems).toEqual([]);
    expect(r.resolved).toMatchObject([{ vm: 'web', proto: 'tcp', port: '8080', toPort: '80', ip: '192.168.100.10', network: 'n', sources: ['198.51.100.7/32'] }]);
  });

  it.each([
    ['proto = "sctp"\nport = "80"', 'forward[0].proto = "sctp": expected "tcp" or "udp"'],
    ['port = "80-70"', 'forward[0].port = "80-70": expected ports like'],
    ['port = "8000-8010"\nto_port = "80-81"', 'forward[0].to_port = "80-81": expected one port, or as many ports as port has (11; this has 2)'],
    ['port = "80"\nlisten = "host.example"', 'forward[0].listen = "host.example": expected an IPv4 address'],
    ['port = "80"\nsource = ["10.0.0.0/33"]', 'forward[0].source[0] = "10.0.0.0/33": expected an IPv4 CIDR'],
    ['port = "80"\ncolour = "red"', 'forward[0].colour = "red": unknown key'],
    ['port = "80"\nnetwork = "nope"', 'forward[0].network = "nope": expected one of our networks (n)'],
    ['port = "80"\nlisten = "192.168.100.1"', 'forward[0].listen = "192.168.100.1": expected a host address other than the bridge address of n'],
  ])('%j', (body, want) => {
    const r = load(NET + lease('web', '192.168.100.10') + fwd(`vm = "web"\n${body}`));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toContain(want);
  });

  it('a VM without a reservation is an error naming it', () => {
    const r = load(NET + fwd('vm = "ghost"\nport = "80"'));
    expect(r.problems).toEqual([expect.stringContaining('forward[0].vm = "ghost": expected a VM with a reservation')]);
  });

  it('the same host port twice (also across VMs, overlapping ranges, any vs one listen address) names both', () => {
    const base = NET + lease('a', '192.168.100.10') + lease('b', '192.168.100.11');
    const r = load(base + fwd('vm = "a"\nport = "8000-8010"') + fwd('vm = "b"\nport = "8005"\nlisten = "203.0.113.1"'));
    expect(r.problems).toEqual([expect.stringMatching(/forward\[1\]\.port = "8005": expected a host port not already forwarded by config.toml forward\[0\] \(vm "a", \*:8000-8010\/tcp\)/)]);
    // other protocol, or two different listen addresses: no clash
    expect(load(base + fwd('vm = "a"\nport = "53"') + fwd('vm = "b"\nport = "53"\nproto = "udp"')).problems).toEqual([]);
    expect(load(base + fwd('vm = "a"\nport = "80"\nlisten = "203.0.113.1"') + fwd('vm = "b"\nport = "80"\nlisten = "203.0.113.2"')).problems).toEqual([]);
  });

  it('a VM with reservations on two networks needs network =', () => {
    const two = `${NET}[[network]]\nname = "m"\nbridge = "br-m"\nmac = "52:54:00:00:00:02"\naddress = "10.9.0.1/24"\n`;
    const r = load(two + lease('a', '192.168.100.10') + `[[lease]]\nvm = "a"\nip = "10.9.0.5"\nmac = "52:54:00:00:00:05"\n` + fwd('vm = "a"\nport = "80"'));
    expect(r.problems).toEqual([expect.stringContaining('expected network = one of n, m')]);
    const ok = load(two + lease('a', '192.168.100.10') + `[[lease]]\nvm = "a"\nip = "10.9.0.5"\nmac = "52:54:00:00:00:05"\n` + fwd('vm = "a"\nport = "80"\nnetwork = "m"'));
    expect(ok.resolved[0]).toMatchObject({ ip: '10.9.0.5', network: 'm' });
  });
});

describe('leases.d files with forwards', () => {
  it('forwards take the file VM; a file may hold only forwards; the written form reads back the same', () => {
    const p = new Problems('web.toml');
    const got = parseVmFile('vm = "web"\nip = "192.168.100.10"\n\n[[forward]]\nport = "8080"\nto_port = "80"\n', p);
    expect(p.list).toEqual([]);
    expect(got.forwards).toMatchObject([{ vm: 'web', port: '8080', toPort: '80' }]);
    const only = parseVmFile('[[forward]]\nvm = "db"\nport = "5432"\nsource = ["10.0.0.0/8"]\n', p);
    expect(p.list).toEqual([]);
    expect(only.leases).toEqual([]);
    const again = parseVmFile(renderVmFile(got.leases, [...got.forwards, ...only.forwards]), p);
    expect(p.list).toEqual([]);
    expect(again.forwards.map((f) => ({ ...f, origin: null }))).toEqual([...got.forwards, ...only.forwards].map((f) => ({ ...f, origin: null })));
    expect(again.leases.map((l) => l.ip)).toEqual(['192.168.100.10']);
  });

  it('loadConfig: a leases.d forward duplicating the config one is refused, nothing loads (exit 3)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-fwd-'));
    mkdirSync(join(dir, 'leases.d'));
    writeFileSync(join(dir, 'config.toml'), NET + lease('a', '192.168.100.10') + lease('b', '192.168.100.11') + fwd('vm = "a"\nport = "443"'));
    writeFileSync(join(dir, 'leases.d', 'b.toml'), '[[forward]]\nvm = "b"\nport = "443"\n');
    const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger() });
    let err: unknown;
    try {
      loadConfig(ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(3);
    expect((err as Error).message).toMatch(/b\.toml: forward\[0\]\.port = "443": expected a host port not already forwarded by .*config\.toml forward\[0\] \(vm "a"/);
    expect(readFileSync(join(dir, 'leases.d', 'b.toml'), 'utf8')).toContain('443');
  });
});

describe('listening sockets and drift per forward', () => {
  const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0A64A8C0:9C40 0200A8C0:0050 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0`;
  const TCP6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 0 0 0 0 0 1`;

  it('/proc/net tables: listening sockets only, IPv4 byte order, IPv6 any', () => {
    expect(parseProcNet(TCP, 'tcp')).toEqual([
      { proto: 'tcp', address: '0.0.0.0', port: 8080 },
      { proto: 'tcp', address: '127.0.0.1', port: 80 },
    ]);
    expect(parseProcNet(TCP6, 'tcp')).toEqual([{ proto: 'tcp', address: '0.0.0.0', port: 443 }]);
  });

  it('a bound host port is found (not for loopback-only sockets), and status names it; a deleted DNAT rule is its drift', () => {
    const r = load(NET + lease('web', '192.168.100.10') + fwd('vm = "web"\nport = "8080"') + fwd('vm = "web"\nport = "80"') + fwd('vm = "web"\nport = "443"\nproto = "udp"'));
    const sockets = [...parseProcNet(TCP, 'tcp'), ...parseProcNet(TCP6, 'tcp')];
    expect(boundForwardPorts(r.resolved, sockets).map((b) => b.forward.port)).toEqual(['8080']);
    const net = r.cfg.networks[0];
    const forwards = forwardsOf({ forwards: r.resolved }, net);
    const table = new Map(nftChains(net, forwards).map((c) => [c.name, { hook: c.hook, rules: c.rules.filter((l) => !l.includes('dport 80 ')) }]));
    const st = forwardStatus(net, 'nftables', forwards, nftDrift(net, table, forwards), sockets);
    expect(st.forwards.map((f) => f.state)).toEqual(['bound', 'missing', 'ok']);
    expect(st.problems).toEqual([expect.stringContaining('host port 8080/tcp is also bound by a listening socket on 0.0.0.0')]);
    // iptables: the same forward's line missing from the DNAT chain
    const c = iptablesChains(net);
    const dump = parseIptablesSave(`*nat\n:${c.dnat} - [0:0]\n-A PREROUTING -j ${c.dnat}\nCOMMIT\n`);
    const ipt = forwardStatus(net, 'iptables', forwards, iptablesDrift(net, dump, forwards), []);
    expect(ipt.forwards.every((f) => f.state === 'missing')).toBe(true);
  });
});

describe('<natnet:forward> in the domain metadata', () => {
  it('is read inside <lease>, <leases> and on its own', async () => {
    const { parseDomainXml } = await import('../../src/libvirt/domain.js');
    const xml = (meta: string) =>
      `<domain type="kvm"><name>web</name><metadata>${meta}</metadata><devices></devices></domain>`;
    const ns = 'xmlns:natnet="https://natnet-hook.dev/xmlns/1"';
    expect(parseDomainXml(xml(`<natnet:lease ${ns} ip="192.168.100.10"><natnet:forward port="8080" to-port="80"/></natnet:lease>`)).metadataForwards).toEqual([
      { port: '8080', toPort: '80' },
    ]);
    expect(parseDomainXml(xml(`<n:forward xmlns:n="https://natnet-hook.dev/xmlns/1" proto="udp" port="53" source="10.0.0.0/8 192.0.2.1"/>`)).metadataForwards).toEqual([
      { port: '53', proto: 'udp', source: '10.0.0.0/8 192.0.2.1' },
    ]);
    expect(parseDomainXml(xml(`<natnet:forward ${ns} to-port="80"/>`)).metadataProblems).toEqual(['forward.port: missing (expected port="8080")']);
  });

  it('config wins: the same forward adds nothing; a clash refuses the starting VM (error) and is dropped with a warning otherwise', async () => {
    const { writeDomainRecord } = await import('../../src/engine/domains.js');
    const dir = mkdtempSync(join(tmpdir(), 'natnet-fwd-meta-'));
    writeFileSync(join(dir, 'config.toml'), NET + lease('web', '192.168.100.10') + lease('db', '192.168.100.11') + fwd('vm = "db"\nport = "5432"'));
    const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger() });
    const rec = (metadataForwards: { port: string; toPort?: string }[]) => ({ vm: 'web', nics: [], metadataLeases: [], metadataForwards, running: false, updated: '' });
    writeDomainRecord(ctx, rec([{ port: '8080', toPort: '80' }]));
    expect(loadConfig(ctx).forwards.map((f) => `${f.vm} ${f.port} ${f.ip}`)).toEqual(['db 5432 192.168.100.11', 'web 8080 192.168.100.10']);

    writeDomainRecord(ctx, rec([{ port: '5432' }]));
    const loaded = loadConfig(ctx);
    expect(loaded.forwards.map((f) => f.vm)).toEqual(['db']);
    expect(loaded.warnings).toEqual([expect.stringMatching(/domain "web" <metadata>: forward\[0\]\.port: expected a host port not already forwarded .*\(metadata forward ignored\)/)]);
    expect(() => loadConfig(ctx, { domain: rec([{ port: '5432' }]) })).toThrow(/domain "web" <metadata>: forward\[0\]\.port = "5432"/);
  });
});

describe('domain records carry metadata forwards', () => {
  it('the hook records them and the schema reads them back (older records without them stay valid)', async () => {
    const { buildDomainRecord } = await import('../../src/hook/domain-record.js');
    const { domainRecord } = await import('../../src/state/schema.js');
    const info = { name: 'web', uuid: null, interfaces: [], metadataLeases: [{ ip: '192.168.100.10' }], metadataForwards: [{ port: '8080', toPort: '80' }], metadataProblems: [] };
    const rec = buildDomainRecord(info, { libvirtNetworks: {}, previous: null, ours: new Set(), now: new Date(0) });
    expect(rec.metadataForwards).toEqual([{ port: '8080', toPort: '80' }]);
    expect(domainRecord(JSON.parse(JSON.stringify(rec)))).toEqual(rec);
    const { metadataForwards: _, ...old } = rec;
    expect(domainRecord(JSON.parse(JSON.stringify(old)))).toEqual(old);
    expect(() => domainRecord({ ...rec, metadataForwards: [{ port: 8080 }] })).toThrow('.metadataForwards[0].port');
  });
});
