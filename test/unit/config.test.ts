import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { parseLeaseFile, parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { validateLeases, validateNetworks } from '../../src/config/validate.js';
import { makeContext } from '../../src/engine/context.js';
import { writeDomainRecord } from '../../src/engine/domains.js';
import { ConfigError, ExitCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { DomainRecord } from '../../src/model/types.js';

function problems(text: string): string[] {
  const p = new Problems('/etc/natnet-hook/config.toml');
  const cfg = parseMainConfig(text, p);
  const lease = validateLeases(cfg.networks, cfg.leases);
  return [...p.list, ...lease].map((x) => `${x.field}: ${x.expected}`);
}

const net = (extra = '') => `[[network]]\nname = "n"\n${extra}\n`;
const lease = (body: string) => `${net()}[[lease]]\nvm = "vm1"\n${body}\n`;

describe('config: defaults', () => {
  it('empty text is the handbook network', () => {
    const p = new Problems('f');
    const cfg = parseMainConfig('# only a comment\n', p);
    expect(p.list).toEqual([]);
    expect(cfg.networks).toEqual([
      expect.objectContaining({
        name: 'natnet',
        bridge: 'virbr10',
        mac: '52:54:00:7e:27:af',
        gateway: '192.168.100.1',
        prefix: 24,
        subnet: '192.168.100.0',
        dummy: 'virbr10-nic',
        stp: false,
        dhcpStart: '192.168.100.128',
        dhcpEnd: '192.168.100.254',
        firewall: 'auto',
      }),
    ]);
  });
  it('keeps the handbook STP values available', () => {
    const p = new Problems('f');
    const [n] = parseMainConfig(net('stp = true\nforward_delay = 2'), p).networks;
    expect(p.list).toEqual([]);
    expect(n).toMatchObject({ stp: true, forwardDelay: 2 });
  });
});

describe('config: every bad value is named with its field', () => {
  const cases: [string, string, RegExp][] = [
    ['bad CIDR', net('address = "192.168.100.1/33"'), /network\[0\]\.address: expected the bridge address/],
    ['bad IP in CIDR', net('address = "300.1.1.1/24"'), /network\[0\]\.address/],
    ['network address as gateway', net('address = "192.168.100.0/24"'), /host address/],
    ['bad MAC', net('mac = "52:54:00:zz:00:01"'), /network\[0\]\.mac: expected a MAC/],
    ['multicast MAC', net('mac = "01:54:00:00:00:01"'), /unicast/],
    ['bridge name too long', net('bridge = "averyveryverylongname"'), /network\[0\]\.bridge: expected an interface name/],
    ['bridge name with slash', net('bridge = "br/0"'), /network\[0\]\.bridge/],
    ['bridge name with space', net('bridge = "br 0"'), /network\[0\]\.bridge/],
    ['stp with short delay', net('stp = true\nforward_delay = 1'), /forward_delay: expected at least 2/],
    ['unknown firewall', net('firewall = "ufw"'), /firewall: expected "iptables", "nftables", "auto"/],
    ['bad lease time', net('lease_time = "12 hours"'), /lease_time/],
    ['bad domain', net('domain = "my domain"'), /domain/],
    ['pool outside subnet', net('dhcp_range = "192.168.101.10-192.168.101.20"'), /dhcp_range: expected both ends inside/],
    ['pool includes gateway', net('dhcp_range = "192.168.100.1-192.168.100.20"'), /excludes 192\.168\.100\.1/],
    ['unknown key', net('brdige = "x"'), /network\[0\]\.brdige: unknown key/],
    ['lease bad IP', lease('ip = "192.168.100.300"'), /lease\[0\]\.ip: expected an IPv4 address/],
    ['lease outside subnet', lease('ip = "10.0.0.5"'), /lease\[0\]\.ip: expected an address inside a configured network/],
    ['lease = network address', lease('ip = "192.168.100.0"'), /not the network address/],
    ['lease = broadcast', lease('ip = "192.168.100.255"'), /not the broadcast address/],
    ['lease = gateway', lease('ip = "192.168.100.1"'), /other than the gateway/],
    ['lease in pool', lease('ip = "192.168.100.200"'), /outside the dynamic pool 192\.168\.100\.128-192\.168\.100\.254/],
    ['lease bad MAC', lease('ip = "192.168.100.10"\nmac = "nope"'), /lease\[0\]\.mac: expected a MAC/],
    ['hostname with comma', lease('ip = "192.168.100.10"\nhostname = "a,b"'), /lease\[0\]\.hostname: expected a DNS label/],
    ['hostname with newline', lease('ip = "192.168.100.10"\nhostname = "a\\nb"'), /hostname: expected a DNS label/],
    ['hostname with space', lease('ip = "192.168.100.10"\nhostname = "a b"'), /hostname/],
    ['hostname with quote', lease('ip = "192.168.100.10"\nhostname = "a\\"b"'), /hostname/],
    ['VM name with newline', `${net()}[[lease]]\nvm = "a\\nb"\nip = "192.168.100.10"\n`, /lease\[0\]\.vm: expected a VM name without control characters/],
    ['TOML syntax', 'network = [', /line 1, column \d+: expected valid TOML/],
  ];
  for (const [name, text, re] of cases) {
    it(name, () => expect(problems(text).join('\n')).toMatch(re));
  }

  it('duplicate IP, MAC and VM across leases', () => {
    const text = `${net()}[[lease]]\nvm = "a"\nip = "192.168.100.10"\nmac = "52:54:00:00:00:01"\n[[lease]]\nvm = "b"\nip = "192.168.100.10"\nmac = "52:54:00:00:00:01"\n[[lease]]\nvm = "a"\nip = "192.168.100.11"\n`;
    const all = problems(text).join('\n');
    expect(all).toMatch(/lease\[1\]\.ip: expected an address not already reserved by .* lease\[0\]/);
    expect(all).toMatch(/lease\[1\]\.mac: expected a MAC not already reserved/);
    expect(all).toMatch(/lease\[2\]\.vm: expected one lease per VM/);
  });

  it('two VMs may not claim the same hostname', () => {
    const text = `${net()}[[lease]]\nvm = "a"\nip = "192.168.100.10"\nhostname = "web"\n[[lease]]\nvm = "b"\nip = "192.168.100.11"\nhostname = "web"\n`;
    expect(problems(text).join('\n')).toMatch(/lease\[1\]\.hostname: expected a name not already used by .*lease\[0\]/);
  });

  it('a VM may have one lease per MAC (several NICs)', () => {
    const text = `${net()}[[lease]]\nvm = "a"\nip = "192.168.100.10"\nmac = "52:54:00:00:00:01"\n[[lease]]\nvm = "a"\nip = "192.168.100.11"\nmac = "52:54:00:00:00:02"\n`;
    expect(problems(text)).toEqual([]);
  });

  it('overlapping networks', () => {
    const text = `[[network]]\nname = "a"\n[[network]]\nname = "b"\nbridge = "virbr11"\nmac = "52:54:00:00:00:09"\naddress = "192.168.100.129/25"\ndummy = false\n`;
    const p = new Problems('f');
    const cfg = parseMainConfig(text, p);
    expect(validateNetworks('f', cfg.networks).map((x) => x.expected).join()).toMatch(/does not overlap network\[0\]/);
  });

  it('reports all problems at once', () => {
    const all = problems(`[[network]]\nmac = "x"\naddress = "y"\nfirewall = "z"\n`);
    expect(all.length).toBeGreaterThanOrEqual(3);
  });
});

describe('leases.d files', () => {
  it('top-level keys or [[lease]] tables', () => {
    const p = new Problems('leases.d/a.toml');
    expect(parseLeaseFile('vm = "a"\nip = "192.168.100.10"\n', p)).toHaveLength(1);
    expect(parseLeaseFile('[[lease]]\nvm = "a"\nip = "192.168.100.10"\nmac="52:54:00:00:00:01"\n[[lease]]\nvm = "a"\nip = "192.168.100.11"\nmac="52:54:00:00:00:02"\n', p)).toHaveLength(2);
    expect(p.list).toEqual([]);
  });
});

describe('loadConfig (files on disk)', () => {
  function setup(config: string, leases: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-cfg-'));
    writeFileSync(join(dir, 'config.toml'), config);
    mkdirSync(join(dir, 'leases.d'));
    for (const [name, text] of Object.entries(leases)) writeFileSync(join(dir, 'leases.d', name), text);
    return makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger() });
  }

  it('missing file = default network', () => {
    const ctx = makeContext({ config: '/nonexistent/natnet/config.toml', stateDir: '/nonexistent/state', log: silentLogger() });
    expect(loadConfig(ctx).networks.map((n) => n.name)).toEqual(['natnet']);
  });

  it('merges config leases and leases.d, skipping temp files', () => {
    const ctx = setup('[[lease]]\nvm = "a"\nip = "192.168.100.10"\n', {
      'b.toml': 'vm = "b"\nip = "192.168.100.11"\n',
      '.b.toml.123.tmp': 'garbage',
      'notes.txt': 'ignored',
    });
    expect(loadConfig(ctx).leases.map((l) => l.vm)).toEqual(['a', 'b']);
  });

  it('errors name the leases.d file, and the exit code is distinct', () => {
    const ctx = setup('', { 'b.toml': 'vm = "b"\nip = "192.168.100.300"\n' });
    try {
      loadConfig(ctx);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).exitCode).toBe(ExitCode.config);
      expect((e as Error).message).toMatch(/leases\.d\/b\.toml: ip = "192\.168\.100\.300": expected an IPv4 address/);
    }
  });

  const domain = (ip: string): DomainRecord => ({
    vm: 'a',
    nics: [{ mac: '52:54:00:00:00:01', bridge: 'virbr10' }],
    metadataLeases: [{ ip }],
    running: true,
    updated: '',
  });

  it('domain metadata lease is used when nothing else reserves the VM', () => {
    const ctx = setup('');
    expect(loadConfig(ctx, { domain: domain('192.168.100.20') }).leases).toMatchObject([{ vm: 'a', ip: '192.168.100.20' }]);
  });

  it('a stored record with a hostile hostname is re-checked on read: ignored with a warning, never served', () => {
    const ctx = setup('');
    writeDomainRecord(ctx, { ...domain('192.168.100.20'), vm: 'stored', metadataLeases: [{ ip: '192.168.100.20', hostname: 'a,b\nc' }] });
    const cfg = loadConfig(ctx);
    expect(cfg.leases).toEqual([]);
    expect(cfg.warnings.join()).toMatch(/domain "stored" <metadata>: lease\[0\]\.hostname: expected a DNS label/);
    expect(() => loadConfig(ctx, { domain: { ...domain('192.168.100.20'), vm: 'stored', metadataLeases: [{ ip: '192.168.100.20', hostname: 'a,b' }] } })).toThrow(ConfigError);
  });

  it('metadata that disagrees with leases.d is an error for the VM being started', () => {
    const ctx = setup('', { 'a.toml': 'vm = "a"\nip = "192.168.100.10"\n' });
    expect(() => loadConfig(ctx, { domain: domain('192.168.100.20') })).toThrow(/expected 192\.168\.100\.10, the address .*a\.toml reserves/);
  });
});

describe('config: names that would collide', () => {
  it('bridges that share one nft table name are refused', () => {
    const text = `[[network]]\nname = "a"\nbridge = "br-a"\nmac = "52:54:00:00:00:01"\naddress = "10.1.0.1/24"\n[[network]]\nname = "b"\nbridge = "br.a"\nmac = "52:54:00:00:00:02"\naddress = "10.2.0.1/24"\n`;
    const p = new Problems('f');
    const cfg = parseMainConfig(text, p);
    expect(validateNetworks('f', cfg.networks).map((x) => `${x.field}: ${x.expected}`).join()).toMatch(/network\[1\]\.bridge: expected a value not already used by network\[0\]/);
  });
  it('a 15-character bridge gets a default dummy name of its own', () => {
    const p = new Problems('f');
    const [n] = parseMainConfig('[[network]]\nbridge = "abcdefghijklmno"\n', p).networks;
    expect(p.list).toEqual([]);
    expect(n.dummy).toBe('abcdefghijk-nic');
  });
});
