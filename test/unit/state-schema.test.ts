import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { appliedRecord, domainRecord, hostChanges, SchemaError } from '../../src/state/schema.js';

const [net] = parseMainConfig('', new Problems('f')).networks;

const goodDomain = () => ({
  vm: 'web',
  nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10', tap: 'vnet3' }],
  metadataLeases: [],
  running: true,
  updated: '2026-11-30T00:00:00.000Z',
});

/** The 0.1 shape (one bridge, one backend): still read, mapped to the per-component shape. */
const goodAppliedV1 = () => ({
  network: { ...net },
  backend: 'iptables',
  iptablesVariant: 'nft',
  createdBridge: true,
  address: '192.168.100.1/24',
  dummy: { name: 'virbr10-nic', created: true },
  dummyUnsupported: null,
  appliedAt: '2026-11-30T00:00:00.000Z',
});

const goodApplied = () => ({
  network: { ...net },
  links: { bridges: [{ name: 'virbr10', created: true, addresses: ['192.168.100.1/24'] }], dummies: [{ name: 'virbr10-nic', created: true }] },
  firewalls: [{ backend: 'iptables', iptablesVariant: 'nft', bridge: 'virbr10' }],
  dnsmasq: true,
  dummyUnsupported: null,
  appliedAt: '2026-11-30T00:00:00.000Z',
});

/** Mid-switch (write-ahead): two firewalls, two bridges, two addresses. */
const midSwitch = () => ({
  ...goodApplied(),
  links: {
    bridges: [
      { name: 'virbr10', created: true, addresses: ['192.168.100.1/24', '192.168.100.1/16'] },
      { name: 'virbr11', created: true, addresses: [], replaced: ['virbr9'] },
    ],
    dummies: [],
  },
  firewalls: [
    { backend: 'iptables', iptablesVariant: 'nft', bridge: 'virbr10' },
    { backend: 'nftables', iptablesVariant: null, bridge: 'virbr11' },
  ],
});

describe('domain record schema', () => {
  it('accepts what the hooks write', () => {
    expect(domainRecord(goodDomain())).toEqual(goodDomain());
  });

  it.each([
    ['null', null, 'document: expected an object'],
    ['{}', {}, '.nics: expected an array'],
    ['an array', [], 'document: expected an object'],
    ['a MAC smuggling a hostsfile line', { ...goodDomain(), nics: [{ mac: '52:54:00:aa:bb:01,id:*,192.168.100.9,evil\n', bridge: 'virbr10' }] }, '.nics[0].mac'],
    ['a multicast MAC', { ...goodDomain(), nics: [{ mac: '01:00:5e:00:00:01', bridge: 'virbr10' }] }, '.nics[0].mac'],
    ['an upper-case MAC (we write lower case)', { ...goodDomain(), nics: [{ mac: '52:54:00:AA:BB:01', bridge: 'virbr10' }] }, '.nics[0].mac'],
    ['a bridge that is no interface name', { ...goodDomain(), nics: [{ mac: '52:54:00:aa:bb:01', bridge: '../etc' }] }, '.nics[0].bridge'],
    ['running as a string', { ...goodDomain(), running: 'yes' }, '.running'],
  ])('rejects %s, naming the field', (_name, value, field) => {
    expect(() => domainRecord(value)).toThrow(SchemaError);
    expect(() => domainRecord(value)).toThrow(field);
  });
});

describe('applied record schema', () => {
  it('accepts what up writes, and drops fields of older versions (paths are never taken from a record)', () => {
    const old = { ...goodAppliedV1(), dnsmasq: { conf: '/etc/passwd', pid: '/x', hosts: '/y', leases: '/z' }, enabledForwarding: true, iptablesTablesCreated: [] };
    const rec = appliedRecord(old, 'natnet');
    expect(rec).toEqual(goodApplied());
    expect(appliedRecord(goodApplied(), 'natnet')).toEqual(goodApplied());
    expect(appliedRecord(midSwitch(), 'natnet')).toEqual(midSwitch());
  });

  it('maps a 0.1 record (from before an upgrade) to the components it describes', () => {
    const v1 = { ...goodAppliedV1(), backend: 'nftables', iptablesVariant: null, createdBridge: false, address: null, dummy: null };
    expect(appliedRecord(v1, 'natnet')).toMatchObject({
      links: { bridges: [{ name: 'virbr10', created: false, addresses: [] }], dummies: [] },
      firewalls: [{ backend: 'nftables', iptablesVariant: null, bridge: 'virbr10' }],
    });
  });

  it.each([
    ['{}', {}, '.network: expected an object'],
    ['another network than its file', goodApplied(), '.network.name'],
    ['a bridge that is no interface name', { ...goodApplied(), network: { ...net, bridge: 'a b' } }, '.network.bridge'],
    ['a 0.1 address not the gateway', { ...goodAppliedV1(), address: '10.0.0.1/8' }, '.address'],
    ['a 0.1 iptables without a variant', { ...goodAppliedV1(), iptablesVariant: null }, '.iptablesVariant'],
    ['iptables without a variant', { ...goodApplied(), firewalls: [{ backend: 'iptables', iptablesVariant: null, bridge: 'virbr10' }] }, '.firewalls[0].iptablesVariant'],
    ['a firewall bridge that is no interface name', { ...goodApplied(), firewalls: [{ backend: 'nftables', iptablesVariant: null, bridge: '../x' }] }, '.firewalls[0].bridge'],
    ['a link that is no interface name', { ...goodApplied(), links: { bridges: [{ name: 'a b', created: true, addresses: [] }], dummies: [] } }, '.links.bridges[0].name'],
    ['an address that is no address', { ...goodApplied(), links: { bridges: [{ name: 'virbr10', created: true, addresses: ['x; rm'] }], dummies: [] } }, '.links.bridges[0].addresses[0]'],
    ['no links', { ...goodApplied(), links: undefined }, '.links'],
    ['a replaced bridge that is no interface name', { ...goodApplied(), links: { bridges: [{ name: 'virbr10', created: true, addresses: [], replaced: ['a/b'] }], dummies: [] } }, '.links.bridges[0].replaced[0]'],
    ['too many firewalls', { ...goodApplied(), firewalls: Array(7).fill(goodApplied().firewalls[0]) }, '.firewalls: expected at most 6'],
  ])('rejects %s', (name, value, field) => {
    const file = name === 'another network than its file' ? 'other' : 'natnet';
    expect(() => appliedRecord(value, file)).toThrow(field);
  });
});

describe('host changes schema', () => {
  it('accepts claims of ip_forward and iptables-nft tables/chains, nothing else', () => {
    const h = { enabledForwarding: true, iptablesTablesCreated: ['nat'], iptablesChainsCreated: ['filter INPUT'] };
    // records of versions without IPv6 read as claiming nothing IPv6
    expect(hostChanges(h)).toEqual({ ...h, enabledForwarding6: false, acceptRaFixed: [] });
    const v6 = { ...h, enabledForwarding6: true, acceptRaFixed: [{ iface: 'eth0', was: '1' }] };
    expect(hostChanges(v6)).toEqual(v6);
    expect(() => hostChanges({ ...v6, acceptRaFixed: [{ iface: '../x', was: '1' }] })).toThrow('.acceptRaFixed[0].iface');
    expect(() => hostChanges({ ...v6, acceptRaFixed: [{ iface: 'eth0', was: '1\n2' }] })).toThrow('.acceptRaFixed[0].was');
    expect(() => hostChanges({ ...h, iptablesTablesCreated: ['raw'] })).toThrow('.iptablesTablesCreated[0]');
    expect(() => hostChanges({ ...h, iptablesChainsCreated: ['filter OUTPUT'] })).toThrow('.iptablesChainsCreated[0]');
    expect(() => hostChanges(null)).toThrow(SchemaError);
  });
});
