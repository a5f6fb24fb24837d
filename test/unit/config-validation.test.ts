import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseVmName } from '../../src/config/lease.js';
import { loadConfig } from '../../src/config/load.js';
import { parseLeaseFile, parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { validateLeases } from '../../src/config/validate.js';
import { makeContext } from '../../src/engine/context.js';
import { writeDomainRecord } from '../../src/engine/domains.js';
import { silentLogger } from '../../src/log.js';
import { isUnicastMac, macProblem } from '../../src/net/mac.js';
import { leaseTimeProblem } from '../../src/net/names.js';
import { reservationsFor } from '../../src/plan/reservations.js';

function problems(text: string): string[] {
  const p = new Problems('config.toml');
  const cfg = parseMainConfig(text, p);
  return [...p.list, ...validateLeases(cfg.networks, cfg.leases)].map((x) => `${x.field}${x.value === undefined ? '' : ` = ${JSON.stringify(x.value)}`}: ${x.expected}`);
}

const NET = '[[network]]\nname = "n"\n';
const lease = (vm: string, ip: string, extra = '') => `[[lease]]\nvm = "${vm}"\nip = "${ip}"\n${extra}`;

describe('MACs: unicast only', () => {
  it.each([
    ['52:54:00:aa:bb:01', null],
    ['02:00:00:00:00:01', null],
    ['01:00:5e:00:00:01', /multicast/],
    ['33:33:00:00:00:01', /multicast/],
    ['ff:ff:ff:ff:ff:ff', /broadcast/],
    ['00:00:00:00:00:00', /all zeros/],
  ])('%s', (mac, expected) => {
    const why = macProblem(mac);
    if (expected === null) expect(why).toBeNull();
    else expect(why).toMatch(expected);
    expect(isUnicastMac(mac)).toBe(expected === null);
  });

  it.each([
    ['01:00:5e:00:00:01', 'multicast'],
    ['FF-FF-FF-FF-FF-FF', 'broadcast'],
    ['00:00:00:00:00:00', 'all zeros'],
  ])('a lease with MAC %s is a config error (%s)', (mac, what) => {
    expect(problems(`${NET}${lease('a', '192.168.100.10', `mac = "${mac}"\n`)}`).join('\n')).toMatch(
      new RegExp(`lease\\[0\\]\\.mac = "${mac}": expected a unicast MAC, not .*${what}`),
    );
    // and in a leases.d file, also as the n-th of several
    const p = new Problems('leases.d/a.toml');
    expect(parseLeaseFile(`vm = "a"\nip = "192.168.100.10"\nmac = ["52:54:00:00:00:01", "${mac}"]\n`, p)).toEqual([]);
    expect(p.list.map((x) => x.field)).toEqual(['mac[1]']);
  });

  it('the network MAC too', () => {
    expect(problems(`${NET}mac = "00:00:00:00:00:00"\n`).join()).toMatch(/network\[0\]\.mac = "00:00:00:00:00:00": expected a unicast MAC, not all zeros/);
  });
});

describe('lease_time: dnsmasq minimum of two minutes, or infinite', () => {
  it.each([
    ['infinite', null],
    ['120', null],
    ['2m', null],
    ['12h', null],
    ['1d', null],
    ['52w', null],
    ['0', /at least 2m/],
    ['119', /at least 2m/],
    ['1m', /at least 2m/],
    ['0h', /at least 2m/],
    ['9999999999w', /at most/],
    ['12 hours', /expected seconds/],
    ['-5', /expected seconds/],
    ['', /expected seconds/],
  ])('%j', (text, expected) => {
    const why = leaseTimeProblem(text);
    if (expected === null) expect(why).toBeNull();
    else expect(why).toMatch(expected);
  });

  it('"0" in the config is an error naming the field', () => {
    expect(problems(`${NET}lease_time = "0"\n`).join()).toMatch(/network\[0\]\.lease_time = "0": expected at least 2m \(dnsmasq's minimum lease time\), or "infinite"/);
  });
});

describe('VM names are compared after NFC normalisation', () => {
  const nfc = 'caf\u00e9';
  const nfd = 'cafe\u0301';

  it('one VM written precomposed and decomposed is one VM', () => {
    expect(nfc).not.toBe(nfd);
    expect(normaliseVmName(nfd)).toBe(nfc);
    const all = problems(`${NET}${lease(nfc, '192.168.100.10')}${lease(nfd, '192.168.100.11')}`).join('\n');
    expect(all).toMatch(/lease\[1\]\.vm = "café": expected one lease per VM/);
  });

  it('leases.d, config and domain records meet in NFC', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-nfc-'));
    writeFileSync(join(dir, 'config.toml'), '');
    mkdirSync(join(dir, 'leases.d'));
    writeFileSync(join(dir, 'leases.d', 'cafe.toml'), `vm = "${nfd}"\nip = "192.168.100.10"\n`);
    const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger() });
    // the hook recorded the VM's NIC under the name as libvirt spelled it (NFC here)
    writeDomainRecord(ctx, { vm: nfc, nics: [{ mac: '52:54:00:00:00:07', bridge: 'virbr10' }], metadataLeases: [], running: true, updated: '' });
    const cfg = loadConfig(ctx);
    expect(cfg.leases.map((l) => l.vm)).toEqual([nfc]);
    const { reservations, pending } = reservationsFor(cfg.networks[0], cfg.leases, cfg.domains);
    expect(pending).toEqual([]);
    expect(reservations).toMatchObject([{ vm: nfc, macs: ['52:54:00:00:00:07'], ip: '192.168.100.10', hostname: 'cafe' }]);
  });

  it('a domain record in NFD is matched to a lease in NFC', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-nfd-'));
    writeFileSync(join(dir, 'config.toml'), lease(nfc, '192.168.100.10'));
    const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger() });
    writeDomainRecord(ctx, { vm: nfd, nics: [{ mac: '52:54:00:00:00:08', bridge: 'virbr10' }], metadataLeases: [], running: true, updated: '' });
    const cfg = loadConfig(ctx);
    expect(cfg.domains.map((d) => d.vm)).toEqual([nfc]);
    expect(reservationsFor(cfg.networks[0], cfg.leases, cfg.domains).reservations).toMatchObject([{ macs: ['52:54:00:00:00:08'] }]);
  });
});

describe('host names that would collide are an error naming both VMs', () => {
  it('web_1 and web-1 both derive "web-1"', () => {
    const all = problems(`${NET}${lease('web_1', '192.168.100.10')}${lease('web-1', '192.168.100.11')}`);
    expect(all).toEqual([
      'lease[1].vm = "web-1": expected a VM whose host name "web-1" (derived from its name) is not already used by config.toml lease[0] (vm "web_1", derived from its name); set hostname for one of them',
    ]);
  });

  it('names differing only in case, or in characters DNS does not have', () => {
    expect(problems(`${NET}${lease('Web1', '192.168.100.10')}${lease('web1', '192.168.100.11')}`).join()).toMatch(/vm "Web1"/);
    expect(problems(`${NET}${lease('db.1', '192.168.100.10')}${lease('db 1', '192.168.100.11')}`).join()).toMatch(/host name "db-1"/);
  });

  it('a written hostname against a derived one, either way round', () => {
    expect(problems(`${NET}${lease('web', '192.168.100.10')}${lease('other', '192.168.100.11', 'hostname = "web"\n')}`).join()).toMatch(
      /lease\[1\]\.hostname = "web": expected a name not already used by config\.toml lease\[0\] \(vm "web", derived from its name\)/,
    );
    expect(problems(`${NET}${lease('other', '192.168.100.10', 'hostname = "web"\n')}${lease('web', '192.168.100.11')}`).join()).toMatch(
      /lease\[1\]\.vm = "web": expected a VM whose host name "web" .* \(vm "other"\)/,
    );
  });

  it('a written hostname resolves the clash; one VM with two NICs keeps its name', () => {
    expect(problems(`${NET}${lease('web_1', '192.168.100.10')}${lease('web-1', '192.168.100.11', 'hostname = "web-one"\n')}`)).toEqual([]);
    const twoNics = `${NET}${lease('a', '192.168.100.10', 'mac = "52:54:00:00:00:01"\n')}${lease('a', '192.168.100.11', 'mac = "52:54:00:00:00:02"\n')}`;
    expect(problems(twoNics)).toEqual([]);
  });

  it('VMs without a usable derived name never collide', () => {
    expect(problems(`${NET}${lease('日本', '192.168.100.10')}${lease('中文', '192.168.100.11')}`)).toEqual([]);
  });
});
