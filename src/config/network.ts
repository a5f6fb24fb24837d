import { FIREWALLS, type Network } from '../model/types.js';
import { formatIPv4, inSubnet, parseCidr, parseIPv4 } from '../net/ipv4.js';
import { macProblem, normaliseMac } from '../net/mac.js';
import { isValidDomain, isValidIfName, leaseTimeProblem } from '../net/names.js';
import { DEFAULT_NETWORK, NETWORK_KEYS } from './defaults.js';
import { normaliseIpv6 } from './network-ipv6.js';
import type { Problems } from './problems.js';

type Raw = Record<string, unknown>;

function str(raw: Raw, key: string, fallback: string, field: string, p: Problems): string {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v === 'string') return v;
  p.add(`${field}.${key}`, v, 'expected a string');
  return fallback;
}

function bool(raw: Raw, key: string, fallback: boolean, field: string, p: Problems): boolean {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  p.add(`${field}.${key}`, v, 'expected true or false');
  return fallback;
}

/** One [[network]] table → Network, or null when it cannot be used. Problems are collected, not thrown. */
export function normaliseNetwork(raw: Raw, field: string, p: Problems): Network | null {
  const before = p.list.length;
  for (const key of Object.keys(raw)) {
    if (!NETWORK_KEYS.has(key)) p.add(`${field}.${key}`, raw[key], `unknown key (known: ${[...NETWORK_KEYS].join(', ')})`);
  }
  const d = DEFAULT_NETWORK;
  const name = str(raw, 'name', d.name, field, p);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    p.add(`${field}.name`, name, 'expected 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
  }
  const bridge = str(raw, 'bridge', d.bridge, field, p);
  if (!isValidIfName(bridge)) {
    p.add(`${field}.bridge`, bridge, 'expected an interface name the kernel accepts: 1-15 characters of A-Z a-z 0-9 _ . @ + -');
  }
  const macText = str(raw, 'mac', d.mac, field, p);
  const mac = normaliseMac(macText);
  if (!mac) p.add(`${field}.mac`, macText, 'expected a MAC address like 52:54:00:7e:27:af');
  else {
    const why = macProblem(mac);
    if (why) p.add(`${field}.mac`, macText, why);
  }

  const addressText = str(raw, 'address', d.address, field, p);
  const cidr = parseCidr(addressText);
  if (!cidr) p.add(`${field}.address`, addressText, 'expected the bridge address with prefix, like 192.168.100.1/24');
  else if (cidr.prefix > 30 || cidr.prefix < 8) p.add(`${field}.address`, addressText, 'expected a prefix between /8 and /30');
  else if (cidr.address === cidr.network || cidr.address === cidr.broadcast) {
    p.add(`${field}.address`, addressText, 'expected a host address, not the network or broadcast address');
  }

  let dummy: string | null = `${bridge.slice(0, 11)}-nic`;
  if (raw.dummy === false) dummy = null;
  else if (typeof raw.dummy === 'string') dummy = raw.dummy;
  else if (raw.dummy !== undefined && raw.dummy !== true) p.add(`${field}.dummy`, raw.dummy, 'expected an interface name, true or false');
  if (dummy !== null && !isValidIfName(dummy)) p.add(`${field}.dummy`, dummy, 'expected an interface name of 1-15 characters');
  if (dummy !== null && dummy === bridge) p.add(`${field}.dummy`, dummy, 'expected a name different from the bridge');

  const stp = bool(raw, 'stp', d.stp, field, p);
  let forwardDelay: number = d.forward_delay;
  if (raw.forward_delay !== undefined) {
    const v = raw.forward_delay;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 30) forwardDelay = v;
    else p.add(`${field}.forward_delay`, v, 'expected whole seconds between 0 and 30');
  }
  if (stp && forwardDelay < 2) {
    p.add(`${field}.forward_delay`, forwardDelay, 'expected at least 2 with stp = true (the kernel refuses less)');
  }

  const firewall = str(raw, 'firewall', d.firewall, field, p);
  if (!(FIREWALLS as readonly string[]).includes(firewall)) {
    p.add(`${field}.firewall`, firewall, `expected ${FIREWALLS.map((f) => JSON.stringify(f)).join(', ')}`);
  }
  const outboundRaw = raw.outbound;
  let outbound: string | null = null;
  if (outboundRaw !== undefined) {
    if (typeof outboundRaw === 'string' && isValidIfName(outboundRaw)) outbound = outboundRaw;
    else p.add(`${field}.outbound`, outboundRaw, 'expected an interface name of 1-15 characters');
  }

  const leaseTime = str(raw, 'lease_time', d.lease_time, field, p);
  const leaseTimeWhy = leaseTimeProblem(leaseTime);
  if (leaseTimeWhy) p.add(`${field}.lease_time`, leaseTime, leaseTimeWhy);
  const domain = str(raw, 'domain', d.domain, field, p);
  if (!isValidDomain(domain)) p.add(`${field}.domain`, domain, 'expected a DNS domain of letters, digits and "-", dot separated');
  const autostart = bool(raw, 'autostart', d.autostart, field, p);
  const downWhenIdle = bool(raw, 'down_when_idle', d.down_when_idle, field, p);
  const adopt = bool(raw, 'adopt', d.adopt, field, p);

  let dhcpStart = '';
  let dhcpEnd = '';
  if (cidr) {
    const pool = poolOf(raw.dhcp_range, cidr, `${field}.dhcp_range`, p);
    if (pool) [dhcpStart, dhcpEnd] = pool;
  }
  const ipv6 = normaliseIpv6(raw, field, p);
  if (p.list.length > before || !cidr || !mac) return null;
  return {
    name,
    bridge,
    mac,
    gateway: formatIPv4(cidr.address),
    prefix: cidr.prefix,
    subnet: formatIPv4(cidr.network),
    dummy,
    stp,
    forwardDelay,
    firewall: firewall as Network['firewall'],
    outbound,
    dhcpStart,
    dhcpEnd,
    leaseTime,
    domain,
    autostart,
    downWhenIdle,
    adopt,
    ipv6,
  };
}

/** "A-B" inside the subnet, excluding gateway/network/broadcast; default: the upper half of the subnet. */
function poolOf(
  value: unknown,
  cidr: NonNullable<ReturnType<typeof parseCidr>>,
  field: string,
  p: Problems,
): [string, string] | null {
  if (value === undefined) {
    const size = cidr.broadcast - cidr.network;
    const start = cidr.network + Math.ceil(size / 2);
    let first = start;
    if (first <= cidr.address && cidr.address < cidr.broadcast) first = Math.max(first, cidr.address + 1);
    if (first >= cidr.broadcast) return null;
    return [formatIPv4(first), formatIPv4(cidr.broadcast - 1)];
  }
  if (typeof value !== 'string') {
    p.add(field, value, 'expected "FIRST-LAST", like "192.168.100.128-192.168.100.254"');
    return null;
  }
  const [a, b, extra] = value.split('-').map((s) => s.trim());
  const start = a === undefined ? null : parseIPv4(a);
  const end = b === undefined ? null : parseIPv4(b);
  if (start === null || end === null || extra !== undefined) {
    p.add(field, value, 'expected "FIRST-LAST", like "192.168.100.128-192.168.100.254"');
    return null;
  }
  if (!inSubnet(start, cidr) || !inSubnet(end, cidr)) {
    p.add(field, value, `expected both ends inside ${formatIPv4(cidr.network)}/${cidr.prefix}`);
    return null;
  }
  if (start > end) {
    p.add(field, value, 'expected FIRST <= LAST');
    return null;
  }
  for (const special of [cidr.network, cidr.broadcast, cidr.address]) {
    if (start <= special && special <= end) {
      p.add(field, value, `expected a range that excludes ${formatIPv4(special)} (network, broadcast or gateway)`);
      return null;
    }
  }
  return [formatIPv4(start), formatIPv4(end)];
}
