import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainXmlError, parseDomainXml } from '../../src/libvirt/domain.js';
import { NATNET_XMLNS } from '../../src/libvirt/metadata.js';
import { NetworkXmlError, parseNetworkHookXml } from '../../src/libvirt/network.js';
import { scanDomain, scanNetworkHook } from '../../src/libvirt/scan.js';
import { decodeXml, walkXml } from '../../src/libvirt/xml.js';
import { namesOurs } from '../../src/hook/prefilter.js';

const FIX = join(import.meta.dirname, '../fixtures/libvirt');
const fixture = (name: string) => readFileSync(join(FIX, `${name}.xml`), 'utf8');

/** A minimal domain around the given <metadata> content and interfaces. */
function domain(metadata: string, interfaces = `<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='virbr10'/></interface>`) {
  return `<domain type='qemu'><name>t</name><metadata>${metadata}</metadata><devices>${interfaces}</devices></domain>`;
}

describe('domain XML from the qemu hook (fixtures from libvirt 9.0)', () => {
  it('prepare, type=bridge: MAC and bridge, no tap yet', () => {
    const d = parseDomainXml(fixture('qemu-bridge-prepare'));
    expect(d).toEqual({
      name: 'lv-vm1',
      uuid: '77b98649-2560-4288-88ea-2a04c5b56d1c',
      interfaces: [{ mac: '52:54:00:aa:bb:01', type: 'bridge', bridge: 'virbr10', network: null, tap: null }],
      metadataLeases: [],
      metadataForwards: [],
      metadataProblems: [],
    });
  });

  it('started has the tap; stopped/release have none', () => {
    expect(parseDomainXml(fixture('qemu-bridge-started')).interfaces[0].tap).toBe('vnet0');
    expect(parseDomainXml(fixture('qemu-bridge-stopped')).interfaces[0].tap).toBeNull();
    expect(parseDomainXml(fixture('qemu-bridge-release')).interfaces[0].tap).toBeNull();
    expect(parseDomainXml(fixture('qemu-bridge-refused-stopped')).interfaces[0].mac).toBe('52:54:00:aa:bb:01');
  });

  it('several NICs, a foreign bridge, a name with quotes and unicode, per-MAC metadata leases', () => {
    for (const op of ['prepare', 'started', 'reconnect', 'stopped', 'release']) {
      const d = parseDomainXml(fixture(`qemu-multi-${op}`));
      expect(d.name).toBe('web "multi" ü');
      expect(d.interfaces.map((i) => [i.mac, i.bridge])).toEqual([
        ['52:54:00:aa:bb:11', 'virbr10'],
        ['52:54:00:aa:bb:13', 'br-other'],
        ['52:54:00:aa:bb:12', 'virbr10'],
      ]);
      expect(d.metadataLeases).toEqual([
        { mac: '52:54:00:aa:bb:11', ip: '192.168.100.21', hostname: 'web1' },
        { mac: '52:54:00:aa:bb:12', ip: '192.168.100.22', hostname: 'web2' },
      ]);
      expect(d.metadataProblems).toEqual([]);
    }
    expect(parseDomainXml(fixture('qemu-multi-reconnect')).interfaces.map((i) => i.tap)).toEqual(['vnet3', 'vnet4', 'vnet5']);
  });

  it('type=network: only the network name in prepare, the bridge from start on; `virsh metadata --set` lease', () => {
    const prep = parseDomainXml(fixture('qemu-network-prepare'));
    expect(prep.interfaces).toEqual([{ mac: '52:54:00:aa:bb:31', type: 'network', bridge: null, network: 'lv-net', tap: null }]);
    expect(prep.metadataLeases).toEqual([{ ip: '192.168.100.31', hostname: 'netvm' }]);
    const started = parseDomainXml(fixture('qemu-network-started'));
    expect(started.interfaces).toEqual([{ mac: '52:54:00:aa:bb:31', type: 'bridge', bridge: 'virbr10', network: 'lv-net', tap: 'vnet6' }]);
  });

  it('not a domain → DomainXmlError', () => {
    expect(() => parseDomainXml('')).toThrow(DomainXmlError);
    expect(() => parseDomainXml('garbage')).toThrow(DomainXmlError);
    expect(() => parseDomainXml('<domain><name>x</name>')).toThrow(DomainXmlError);
    expect(() => parseDomainXml('<hookData/>')).toThrow(DomainXmlError);
    expect(() => parseDomainXml('<domain/>')).toThrow(/no <name>/);
  });
});

describe('natnet metadata namespace', () => {
  it('is recognised by URI, whatever the prefix (or a default namespace)', () => {
    const a = parseDomainXml(domain(`<x:lease xmlns:x="${NATNET_XMLNS}" ip="192.168.100.5"/>`));
    expect(a.metadataLeases).toEqual([{ ip: '192.168.100.5' }]);
    const b = parseDomainXml(domain(`<leases xmlns="${NATNET_XMLNS}"><lease ip="192.168.100.6" mac="52-54-00-00-00-01"/></leases>`));
    expect(b.metadataLeases).toEqual([{ ip: '192.168.100.6', mac: '52:54:00:00:00:01' }]);
  });

  it('ignores other namespaces and the same prefix bound to another URI', () => {
    const d = parseDomainXml(domain(`<natnet:lease xmlns:natnet="https://example.com/other" ip="1.2.3.4"/><lease ip="1.2.3.5"/>`));
    expect(d.metadataLeases).toEqual([]);
    expect(d.metadataProblems).toEqual([]);
  });

  it('reports what is wrong, one line each, naming the field and the value', () => {
    const d = parseDomainXml(
      domain(`<n:leases xmlns:n="${NATNET_XMLNS}"><n:lease mac="zz" ip="192.168.100.7"/><n:lease hostname="h"/></n:leases><n:addr xmlns:n="${NATNET_XMLNS}"/>`),
    );
    expect(d.metadataLeases).toEqual([]);
    expect(d.metadataProblems).toEqual([
      'leases.lease[0].mac = "zz": expected a MAC like 52:54:00:12:34:56',
      'leases.lease[1].ip: missing (expected ip="a.b.c.d")',
      '<addr>: unknown element (expected <lease>, <leases> or <forward>)',
    ]);
  });

  it('refuses hostile or malformed values before they can reach dnsmasq', () => {
    const d = parseDomainXml(
      domain(
        `<n:leases xmlns:n="${NATNET_XMLNS}"><n:lease ip="192.168.100.8" hostname="a,b&#10;dhcp-host=evil"/>` +
          `<n:lease ip="192.168.100.9&#10;x"/><n:lease ip="192.168.100.10" hostname="Web-10"/></n:leases>`,
      ),
    );
    expect(d.metadataLeases).toEqual([{ ip: '192.168.100.10', hostname: 'web-10' }]);
    expect(d.metadataProblems).toEqual([
      'leases.lease[0].hostname = "a,b\\ndhcp-host=evil": expected a DNS label: 1-63 letters, digits or "-"',
      'leases.lease[1].ip = "192.168.100.9\\nx": expected an IPv4 address like 192.168.100.20',
    ]);
  });

  it('decodes names libvirt escapes', () => {
    const long = 'v'.repeat(250);
    const d = parseDomainXml(`<domain><name>a &quot;b&quot; &apos;c&apos; &lt;d&gt; &amp; ü ${long}</name></domain>`);
    expect(d.name).toBe(`a "b" 'c' <d> & ü ${long}`);
  });
});

describe('network hook XML (fixtures from libvirt 9.0)', () => {
  it('start/started/stopped: the network and its bridge', () => {
    for (const op of ['start', 'started', 'stopped']) {
      expect(parseNetworkHookXml(fixture(`network-${op}`))).toEqual({ name: 'lv-net', bridge: 'virbr10', forwardMode: 'bridge', port: null });
    }
  });

  it('port-created/port-deleted: the VM, its MAC and the bridge it is plugged into', () => {
    for (const op of ['port-created', 'port-deleted']) {
      expect(parseNetworkHookXml(fixture(`network-${op}`)).port).toEqual({
        vm: 'netvm',
        vmUuid: '09485d25-b612-47d3-b625-9d86466f3e1c',
        mac: '52:54:00:aa:bb:31',
        bridge: 'virbr10',
      });
    }
  });

  it('malformed → NetworkXmlError', () => {
    expect(() => parseNetworkHookXml('')).toThrow(NetworkXmlError);
    expect(() => parseNetworkHookXml('<hookData><network/></hookData>')).toThrow(NetworkXmlError);
    expect(() => parseNetworkHookXml('<hookData><network><name>n</name></network><networkport/></hookData>')).toThrow(NetworkXmlError);
  });
});

describe('fast path scan (the same walk as the full parse)', () => {
  it('finds every interface the full parse finds, on every fixture, and the pre-scan sees their bridges', () => {
    for (const f of readdirSync(FIX).filter((n) => n.startsWith('qemu-'))) {
      const xml = readFileSync(join(FIX, f), 'utf8');
      const scan = scanDomain(xml);
      expect(scan.wellFormed, f).toBe(true);
      expect(scan.interfaces, f).toEqual(parseDomainXml(xml).interfaces);
      for (const i of scan.interfaces) {
        if (i.bridge) expect(namesOurs(xml, [i.bridge]), f).toBe(true);
        if (i.network) expect(namesOurs(xml, ['virbr10'], () => ({ [i.network!]: 'virbr10' })), f).toBe(true);
      }
    }
    for (const f of readdirSync(FIX).filter((n) => n.startsWith('network-'))) {
      const xml = readFileSync(join(FIX, f), 'utf8');
      expect(scanNetworkHook(xml).wellFormed, f).toBe(true);
      expect(namesOurs(xml, ['virbr10']), f).toBe(true);
    }
  });

  it('decodes entities like libvirt writes them; a bad character reference is U+FFFD, never a throw', () => {
    expect(scanDomain(domain('', `<interface type="network"><mac address='52:54:00:00:00:02'/><source network="a&amp;b&#x27;"/></interface>`)).interfaces[0].network).toBe("a&b'");
    expect(decodeXml('x&#x110000;&#0;&#xD800;&#99999999999999999999;&#65;&nbsp;')).toBe('x\ufffd\ufffd\ufffd\ufffdA&nbsp;');
    const d = scanDomain(domain('', `<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='x&#x110000;'/></interface>`));
    expect(d.interfaces[0].bridge).toBe('x\ufffd');
  });

  it('finds the bridge of a network hook', () => {
    expect(scanNetworkHook(fixture('network-port-created'))).toMatchObject({ bridge: 'virbr10', port: { bridge: 'virbr10', vm: 'netvm' } });
    expect(scanNetworkHook('<hookData><network><name>x</name></network></hookData>').bridge).toBeNull();
  });

  it('is linear and total on hostile input: unclosed, unterminated, deep, huge (never throws)', () => {
    const MB = 1024 * 1024;
    const inputs = [
      `<domain><name>x</name><devices>${'<interface>'.repeat(MB / 11)}`,
      `<domain><name>x</name><devices><interface type='bridge'>${'<source '.repeat(MB / 8)}`,
      `<domain><name>x</name><devices><interface><source bridge='${'a'.repeat(MB)}`,
      `<domain><name>x</name><devices><interface><source ${"a='b' ".repeat(MB / 6)}/></interface></devices></domain>`,
      `<domain><name>x</name>${'<!--'.repeat(MB / 4)}`,
      `<hookData>${'<network>'.repeat(MB / 9)}</hookData>`,
      `<hookData><network><name>x</name>${'<plug '.repeat(MB / 6)}`,
      '\0'.repeat(MB),
      `<domain><name>x</name><devices><interface type='bridge'><source bridge='${'&#x'.repeat(MB / 3)}'/></interface></devices></domain>`,
    ];
    for (const xml of inputs) {
      expect(() => scanDomain(xml, () => true)).not.toThrow();
      expect(() => scanNetworkHook(xml)).not.toThrow();
    }
    expect(walkXml('<a><b></a>', { open() {} })).toBe(false);
    expect(walkXml('<a x="1" x="2"/>', { open() {} })).toBe(true);
    expect(scanDomain('<domain><name>x</name></domain><domain/>').wellFormed).toBe(false);
  });
});
