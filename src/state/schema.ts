/**
 * Schemas of every JSON file natnet-hook reads back from its state directories. Anything read
 * back is untrusted input (a full disk, a kill mid-write by an older version, a hand edit, an
 * attacker with write access): it is validated like user input, and names that later become
 * files, interfaces or hostsfile lines (MACs, bridges, taps, VM names) are checked strictly.
 * Pure: no I/O. Small imports only: the hook's CommonJS fast path uses the domain record schema.
 */
import { vmNameProblem } from '../config/lease.js';
import { NatnetError } from '../errors.js';
import { fileStem } from './layout.js';
import type { AppliedBridge, AppliedDockerUser, AppliedDummy, AppliedFirewall, AppliedRecord, HostChanges } from '../model/applied.js';
import { FAMILIES } from '../model/family.js';
import { BACKENDS, DHCPV6_MODES, type DomainNic, type DomainRecord, FIREWALLS, IPV6_MODES, type Ipv6Network, type Network } from '../model/types.js';
import { parseIPv4 } from '../net/ipv4.js';
import { formatIPv6, INTERFACE_ID_PREFIX, inSubnet6, interfaceId6, isUniqueLocal, parseIPv6, prefixText6 } from '../net/ipv6.js';
import { macProblem, normaliseMac } from '../net/mac.js';
import { isValidDomain, isValidIfName, isValidLeaseTime } from '../net/names.js';
import { IP6_JUMP_CHAINS, JUMP_CHAINS } from '../render/iptables.js';
import { BRIDGE_SYSCTL6_KEYS, type BridgeSysctl6 } from '../observe/ipv6.js';

/** Why a value read back from disk is not what we wrote; `at` is the field path. */
export class SchemaError extends NatnetError {
  constructor(
    readonly at: string,
    readonly expected: string,
  ) {
    super(`${at || 'document'}: expected ${expected}`);
  }
}

type Obj = Record<string, unknown>;

function fail(at: string, expected: string): never {
  throw new SchemaError(at, expected);
}

export function object(v: unknown, at: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(at, 'an object');
  return v as Obj;
}

export function array(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) fail(at, 'an array');
  return v;
}

export function string(v: unknown, at: string): string {
  if (typeof v !== 'string') fail(at, 'a string');
  return v;
}

export function boolean(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') fail(at, 'true or false');
  return v;
}

export function integer(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(at, `an integer from ${min} to ${max}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, at: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) fail(at, `one of ${values.join(', ')}`);
  return v as T;
}

export function ifName(v: unknown, at: string): string {
  if (typeof v !== 'string' || !isValidIfName(v)) fail(at, 'an interface name (1-15 of A-Z a-z 0-9 _ . @ + -)');
  return v;
}

export function ipv4(v: unknown, at: string): string {
  if (typeof v !== 'string' || parseIPv4(v) === null) fail(at, 'an IPv4 address');
  return v;
}

/** A unicast MAC in lower-case colon form, exactly as we write them. */
export function unicastMac(v: unknown, at: string): string {
  const mac = typeof v === 'string' ? normaliseMac(v) : null;
  if (mac === null || mac !== v || macProblem(mac) !== null) fail(at, 'a unicast MAC like 52:54:00:aa:bb:01');
  return mac;
}

export function vmName(v: unknown, at: string): string {
  if (typeof v !== 'string') fail(at, 'a VM name');
  const why = vmNameProblem(v);
  if (why) fail(at, why.replace(/^expected /, ''));
  return v;
}

function optional<T>(o: Obj, key: string, at: string, check: (v: unknown, at: string) => T): T | undefined {
  return o[key] === undefined ? undefined : check(o[key], `${at}.${key}`);
}

/** <libDir>/domains/<vm>.json: what the hooks learned about a VM. */
export function domainRecord(v: unknown, at = ''): DomainRecord {
  const o = object(v, at);
  const nics: DomainNic[] = array(o.nics, `${at}.nics`).map((n, i) => {
    const f = `${at}.nics[${i}]`;
    const nic = object(n, f);
    const out: DomainNic = { mac: unicastMac(nic.mac, `${f}.mac`), bridge: ifName(nic.bridge, `${f}.bridge`) };
    const tap = optional(nic, 'tap', f, ifName);
    if (tap !== undefined) out.tap = tap;
    return out;
  });
  // contents are re-validated as leases on every load (config/load.ts metadataLeases); here only their shape
  const metadataLeases = array(o.metadataLeases, `${at}.metadataLeases`).map((m, i) => {
    const f = `${at}.metadataLeases[${i}]`;
    const l = object(m, f);
    const lease: DomainRecord['metadataLeases'][number] = { ip: string(l.ip, `${f}.ip`) };
    const ip6 = optional(l, 'ip6', f, string);
    const mac = optional(l, 'mac', f, string);
    const hostname = optional(l, 'hostname', f, string);
    if (ip6 !== undefined) lease.ip6 = ip6;
    if (mac !== undefined) lease.mac = mac;
    if (hostname !== undefined) lease.hostname = hostname;
    return lease;
  });
  const metadataForwards = o.metadataForwards === undefined ? undefined : array(o.metadataForwards, `${at}.metadataForwards`).map((m, i) => {
    const f = `${at}.metadataForwards[${i}]`;
    const l = object(m, f);
    const fwd: NonNullable<DomainRecord['metadataForwards']>[number] = { port: string(l.port, `${f}.port`) };
    for (const key of ['proto', 'toPort', 'listen', 'source'] as const) {
      const v = optional(l, key, f, string);
      if (v !== undefined) fwd[key] = v;
    }
    return fwd;
  });
  const rec: DomainRecord = {
    vm: vmName(o.vm, `${at}.vm`),
    nics,
    metadataLeases,
    ...(metadataForwards?.length ? { metadataForwards } : {}),
    running: boolean(o.running, `${at}.running`),
    updated: string(o.updated, `${at}.updated`),
  };
  const migratedAt = optional(o, 'migratedAt', at, string);
  if (migratedAt !== undefined) {
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(migratedAt)) fail(`${at}.migratedAt`, 'an ISO time like 2025-01-31T12:00:00.000Z');
    rec.migratedAt = migratedAt;
  }
  const uuid = optional(o, 'uuid', at, string);
  if (uuid !== undefined) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) fail(`${at}.uuid`, 'a UUID');
    rec.uuid = uuid;
  }
  return rec;
}

/**
 * <libDir>/domains/<fileName>: the schema, plus the record names the VM its file is named after
 * (a `.bad` suffix of a quarantined file aside), so a record never speaks for another VM.
 */
export function domainRecordIn(fileName: string): (v: unknown) => DomainRecord {
  const own = fileName.replace(/\.bad$/, '');
  return (v) => {
    const rec = domainRecord(v);
    if (`${fileStem(rec.vm)}.json` !== own) throw new SchemaError('.vm', `the VM this file is named after (${own})`);
    return rec;
  };
}

/** The desired state an applied record was made from. */
export function network(v: unknown, at: string): Network {
  const o = object(v, at);
  const f = (k: string) => `${at}.${k}`;
  const name = string(o.name, f('name'));
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) fail(f('name'), 'a network name');
  const leaseTime = string(o.leaseTime, f('leaseTime'));
  if (!isValidLeaseTime(leaseTime)) fail(f('leaseTime'), 'a dnsmasq lease time');
  const domain = string(o.domain, f('domain'));
  if (!isValidDomain(domain)) fail(f('domain'), 'a DNS domain');
  return {
    name,
    bridge: ifName(o.bridge, f('bridge')),
    mac: unicastMac(o.mac, f('mac')),
    gateway: ipv4(o.gateway, f('gateway')),
    prefix: integer(o.prefix, f('prefix'), 8, 30),
    subnet: ipv4(o.subnet, f('subnet')),
    dummy: o.dummy === null ? null : ifName(o.dummy, f('dummy')),
    stp: boolean(o.stp, f('stp')),
    forwardDelay: integer(o.forwardDelay, f('forwardDelay'), 0, 30),
    firewall: oneOf(o.firewall, f('firewall'), FIREWALLS),
    outbound: o.outbound === null ? null : ifName(o.outbound, f('outbound')),
    dhcpStart: ipv4(o.dhcpStart, f('dhcpStart')),
    dhcpEnd: ipv4(o.dhcpEnd, f('dhcpEnd')),
    leaseTime,
    domain,
    autostart: boolean(o.autostart, f('autostart')),
    downWhenIdle: boolean(o.downWhenIdle, f('downWhenIdle')),
    // records written before `adopt` existed have none
    adopt: o.adopt === undefined ? false : boolean(o.adopt, f('adopt')),
    // records written before IPv6 existed have none
    ipv6: o.ipv6 === undefined || o.ipv6 === null ? null : ipv6Network(o.ipv6, f('ipv6')),
  };
}

/** An IPv6 address exactly as we write them (RFC 5952 text). */
export function ipv6(v: unknown, at: string): string {
  const n = typeof v === 'string' ? parseIPv6(v) : null;
  if (n === null || formatIPv6(n) !== v) fail(at, 'an IPv6 address in RFC 5952 form');
  return v as string;
}

/** A network's resolved IPv6 side: a /64 whose gateway and pool lie inside it. */
export function ipv6Network(v: unknown, at: string): Ipv6Network {
  const o = object(v, at);
  const f = (k: string) => `${at}.${k}`;
  const prefix = integer(o.prefix, f('prefix'), INTERFACE_ID_PREFIX, INTERFACE_ID_PREFIX);
  const subnet = ipv6(o.subnet, f('subnet'));
  const cidr = { network: parseIPv6(subnet)!, prefix };
  if (interfaceId6(cidr.network) !== 0n) fail(f('subnet'), 'a /64 prefix (no host bits)');
  const inside = (x: unknown, k: string) => {
    const text = ipv6(x, f(k));
    if (!inSubnet6(parseIPv6(text)!, cidr)) fail(f(k), `an address inside ${prefixText6({ subnet, prefix })}`);
    return text;
  };
  const dhcpv6 = oneOf(o.dhcpv6, f('dhcpv6'), DHCPV6_MODES);
  const pool = dhcpv6 === 'stateful';
  return {
    auto: boolean(o.auto, f('auto')),
    gateway: inside(o.gateway, 'gateway'),
    prefix,
    subnet,
    mode: oneOf(o.mode, f('mode'), IPV6_MODES),
    dhcpv6,
    dhcpStart: pool ? inside(o.dhcpStart, 'dhcpStart') : o.dhcpStart === null ? null : fail(f('dhcpStart'), 'null with dhcpv6 stateless'),
    dhcpEnd: pool ? inside(o.dhcpEnd, 'dhcpEnd') : o.dhcpEnd === null ? null : fail(f('dhcpEnd'), 'null with dhcpv6 stateless'),
    fixAcceptRa: boolean(o.fixAcceptRa, f('fixAcceptRa')),
  };
}


/** An address with its prefix as `ip` prints it (192.168.100.1/24, or an IPv6 /64 like fd00:1:2:3::1/64). */
function cidr(v: unknown, at: string): string {
  const m = typeof v === 'string' ? /^([0-9.]+)\/(\d{1,2})$/.exec(v) : null;
  if (m && parseIPv4(m[1]) !== null && Number(m[2]) >= 8 && Number(m[2]) <= 30) return v as string;
  const m6 = typeof v === 'string' ? /^([0-9a-f:]+)\/64$/.exec(v) : null;
  if (m6 && ipv6OrNull(m6[1])) return v as string;
  fail(at, 'an IPv4 address with a prefix from /8 to /30, or an IPv6 address with /64');
}

const ipv6OrNull = (text: string) => {
  const n = parseIPv6(text);
  return n !== null && formatIPv6(n) === text;
};

/** Values a bridge's IPv6 sysctls had before we changed them: known keys, small integers only. */
function sysctls6(v: unknown, at: string): Partial<Record<BridgeSysctl6, string>> {
  const o = object(v, at);
  const out: Partial<Record<BridgeSysctl6, string>> = {};
  for (const [k, val] of Object.entries(o)) {
    if (!(BRIDGE_SYSCTL6_KEYS as string[]).includes(k)) fail(`${at}.${k}`, `one of ${BRIDGE_SYSCTL6_KEYS.join(', ')}`);
    if (typeof val !== 'string' || !/^-?[0-9]{1,3}$/.test(val)) fail(`${at}.${k}`, 'a small integer as text');
    out[k as BridgeSysctl6] = val;
  }
  return out;
}

/** A list read back from disk: an array of at most `max` items (a record never needs more). */
function list<T>(v: unknown, at: string, max: number, item: (v: unknown, at: string) => T): T[] {
  const a = array(v, at);
  if (a.length > max) fail(at, `at most ${max} entries`);
  return a.map((x, i) => item(x, `${at}[${i}]`));
}

function backendAndVariant(o: Obj, at: string): Pick<AppliedFirewall, 'backend' | 'iptablesVariant'> {
  const backend = oneOf(o.backend, `${at}.backend`, BACKENDS);
  const iptablesVariant = o.iptablesVariant === null ? null : oneOf(o.iptablesVariant, `${at}.iptablesVariant`, ['nft', 'legacy'] as const);
  if ((backend === 'iptables') !== (iptablesVariant !== null)) fail(`${at}.iptablesVariant`, 'a variant exactly when the backend is iptables');
  return { backend, iptablesVariant };
}

function dummyOf(v: unknown, at: string): AppliedDummy {
  const d = object(v, at);
  return { name: ifName(d.name, `${at}.name`), created: boolean(d.created, `${at}.created`) };
}

/**
 * <runDir>/applied/<network>.json: what `up` applied, per component. `networkName` is the
 * network the file is named after; a record claiming another network is rejected. A record in
 * the shape of 0.1 (one bridge, one backend: `createdBridge`, `address`, `backend`; /run survives
 * a package upgrade) is read and mapped to the per-component shape, which says the same. Fields
 * of older versions (dnsmasq paths, host-wide changes) are ignored: paths derive from the layout.
 */
export function appliedRecord(v: unknown, networkName: string, at = ''): AppliedRecord {
  const o = object(v, at);
  const net = network(o.network, `${at}.network`);
  if (net.name !== networkName) fail(`${at}.network.name`, JSON.stringify(networkName));
  const dummyUnsupported = o.dummyUnsupported === null ? null : string(o.dummyUnsupported, `${at}.dummyUnsupported`);
  const appliedAt = string(o.appliedAt, `${at}.appliedAt`);
  if (o.links === undefined && o.createdBridge !== undefined) return appliedRecordV1(o, net, dummyUnsupported, appliedAt, at);
  const links = object(o.links, `${at}.links`);
  const bridges = list(links.bridges, `${at}.links.bridges`, 4, (b, f): AppliedBridge => {
    const x = object(b, f);
    const bridge: AppliedBridge = { name: ifName(x.name, `${f}.name`), created: boolean(x.created, `${f}.created`), addresses: list(x.addresses, `${f}.addresses`, 4, cidr) };
    if (x.replaced !== undefined) bridge.replaced = list(x.replaced, `${f}.replaced`, 4, ifName);
    if (x.sysctls6 !== undefined) bridge.sysctls6 = sysctls6(x.sysctls6, `${f}.sysctls6`);
    return bridge;
  });
  const dummies = list(links.dummies, `${at}.links.dummies`, 4, dummyOf);
  const firewalls = list(o.firewalls, `${at}.firewalls`, 6, (fw, f): AppliedFirewall => {
    const x = object(fw, f);
    return { ...backendAndVariant(x, f), bridge: ifName(x.bridge, `${f}.bridge`) };
  });
  const dockerUser =
    o.dockerUser === undefined
      ? []
      : list(o.dockerUser, `${at}.dockerUser`, 8, (d, f): AppliedDockerUser => {
          const x = object(d, f);
          return {
            family: oneOf(x.family, `${f}.family`, FAMILIES),
            iptablesVariant: oneOf(x.iptablesVariant, `${f}.iptablesVariant`, ['nft', 'legacy'] as const),
            bridge: ifName(x.bridge, `${f}.bridge`),
          };
        });
  return {
    network: net,
    links: { bridges, dummies },
    firewalls,
    ...(dockerUser.length ? { dockerUser } : {}),
    dnsmasq: boolean(o.dnsmasq, `${at}.dnsmasq`),
    dummyUnsupported,
    appliedAt,
  };
}

/** The 0.1 shape: the network's bridge, its one address, one dummy and one backend. */
function appliedRecordV1(o: Obj, net: Network, dummyUnsupported: string | null, appliedAt: string, at: string): AppliedRecord {
  const address = o.address === null ? null : string(o.address, `${at}.address`);
  if (address !== null && address !== `${net.gateway}/${net.prefix}`) fail(`${at}.address`, `null or ${net.gateway}/${net.prefix}`);
  const dummy = o.dummy === null ? null : dummyOf(o.dummy, `${at}.dummy`);
  return {
    network: net,
    links: {
      bridges: [{ name: net.bridge, created: boolean(o.createdBridge, `${at}.createdBridge`), addresses: address ? [address] : [] }],
      dummies: dummy ? [dummy] : [],
    },
    firewalls: [{ ...backendAndVariant(o, at), bridge: net.bridge }],
    dnsmasq: true,
    dummyUnsupported,
    appliedAt,
  };
}

/** <runDir>/host-changes.json: host-wide changes `up` made (ip_forward, iptables-nft tables). */
export function hostChanges(v: unknown, at = ''): HostChanges {
  const o = object(v, at);
  return {
    enabledForwarding: boolean(o.enabledForwarding, `${at}.enabledForwarding`),
    iptablesTablesCreated: array(o.iptablesTablesCreated, `${at}.iptablesTablesCreated`).map((t, i) =>
      oneOf(t, `${at}.iptablesTablesCreated[${i}]`, ['nat', 'filter'] as const),
    ),
    iptablesChainsCreated: array(o.iptablesChainsCreated, `${at}.iptablesChainsCreated`).map((c, i) =>
      oneOf(c, `${at}.iptablesChainsCreated[${i}]`, JUMP_CHAINS),
    ),
    // absent in records of versions without IPv6
    enabledForwarding6: o.enabledForwarding6 === undefined ? false : boolean(o.enabledForwarding6, `${at}.enabledForwarding6`),
    acceptRaFixed:
      o.acceptRaFixed === undefined
        ? []
        : list(o.acceptRaFixed, `${at}.acceptRaFixed`, 64, (x, f) => {
            const e = object(x, f);
            const was = string(e.was, `${f}.was`);
            if (!/^-?[0-9]{1,3}$/.test(was)) fail(`${f}.was`, 'a small integer as text');
            return { iface: ifName(e.iface, `${f}.iface`), was };
          }),
    ...(o.ip6tablesCreated === undefined ? {} : { ip6tablesCreated: ip6tablesCreated(o.ip6tablesCreated, `${at}.ip6tablesCreated`) }),
  };
}

function ip6tablesCreated(v: unknown, at: string): NonNullable<HostChanges['ip6tablesCreated']> {
  const o = object(v, at);
  return {
    tables: array(o.tables, `${at}.tables`).map((t, i) => oneOf(t, `${at}.tables[${i}]`, ['nat', 'filter'] as const)),
    chains: array(o.chains, `${at}.chains`).map((c, i) => oneOf(c, `${at}.chains[${i}]`, IP6_JUMP_CHAINS)),
  };
}

/** <libDir>/ipv6-prefix/<network>.json: the generated `ipv6 = "auto"` prefix of the network it is named after. */
export function ipv6PrefixRecord(networkName: string): (v: unknown) => { network: string; prefix: string; created: string } {
  return (v) => {
    const o = object(v, '');
    const network = string(o.network, '.network');
    if (network !== networkName) fail('.network', JSON.stringify(networkName));
    const prefix = string(o.prefix, '.prefix');
    const c = parseIPv6(prefix.replace(/\/64$/, ''));
    if (!prefix.endsWith('/64') || c === null || formatIPv6(c) !== prefix.slice(0, -3) || interfaceId6(c) !== 0n || !isUniqueLocal(c)) {
      fail('.prefix', 'a unique local /64 like fd12:3456:789a:1::/64');
    }
    return { network, prefix, created: string(o.created, '.created') };
  };
}

/** <libDir>/libvirt-networks.json: libvirt network name → our bridge. */
export function libvirtNetworks(v: unknown, at = ''): Record<string, string> {
  const o = object(v, at);
  const out: Record<string, string> = Object.create(null);
  for (const [name, bridge] of Object.entries(o)) out[name] = ifName(bridge, `${at}[${JSON.stringify(name)}]`);
  return out;
}

/** <runDir>/hook-networks.json: the configured networks, cached for the hook's fast path. */
export function networkCache(v: unknown, at = ''): { config: string; key: string; networks: { name: string; bridge: string; downWhenIdle: boolean }[] } {
  const o = object(v, at);
  return {
    config: string(o.config, `${at}.config`),
    key: string(o.key, `${at}.key`),
    networks: array(o.networks, `${at}.networks`).map((n, i) => {
      const f = `${at}.networks[${i}]`;
      const x = object(n, f);
      return { name: string(x.name, `${f}.name`), bridge: ifName(x.bridge, `${f}.bridge`), downWhenIdle: boolean(x.downWhenIdle, `${f}.downWhenIdle`) };
    }),
  };
}
