import { DHCPV6_MODES, type Ipv6Mode, IPV6_MODES, type Ipv6Network } from '../model/types.js';
import { type Cidr6, formatIPv6, INTERFACE_ID_PREFIX, inSubnet6, interfaceId6, isGlobalUnicast6, isUniqueLocal, parseCidr6, parseIPv6, prefixMask6 } from '../net/ipv6.js';
import { IPV6_KEYS } from './defaults.js';
import type { Problems } from './problems.js';

type Raw = Record<string, unknown>;

/** SLAAC (and dnsmasq's ra-stateless) needs exactly a /64. */
export const IPV6_PREFIX = INTERFACE_ID_PREFIX;
/** The gateway of an `auto` prefix: <prefix>::1. */
const AUTO_GATEWAY = 1n;
/** Default DHCPv6 pool with `dhcpv6 = "stateful"`: <prefix>::1000-<prefix>::1fff. */
const DEFAULT_POOL: [bigint, bigint] = [0x1000n, 0x1fffn];

/**
 * The [[network]] keys of the IPv6 side → Ipv6Network, null when `ipv6` is absent (IPv4 only) or
 * unusable. With `ipv6 = "auto"` the prefix is not known yet: the result is relative to `::/64`
 * (subnet "::", gateway "::1") until resolveIpv6 puts the generated prefix in front.
 */
export function normaliseIpv6(raw: Raw, field: string, p: Problems): Ipv6Network | null {
  const value = raw.ipv6;
  if (value === undefined) {
    for (const key of IPV6_KEYS) {
      if (key !== 'ipv6' && raw[key] !== undefined) p.add(`${field}.${key}`, raw[key], 'expected only together with ipv6 (ipv6 = "auto" or "<gateway>/64")');
    }
    return null;
  }
  const before = p.list.length;
  const auto = value === 'auto';
  const cidr: Cidr6 | null = auto
    ? { address: AUTO_GATEWAY, prefix: IPV6_PREFIX, network: 0n }
    : typeof value === 'string'
      ? parseCidr6(value)
      : null;
  if (cidr === null) {
    p.add(`${field}.ipv6`, value, 'expected "auto" or the bridge\'s IPv6 address with prefix, like "fd00:1:2:3::1/64"');
    return null;
  }
  if (auto) {
    // relative to ::/64 until resolved
  } else if (cidr.prefix !== IPV6_PREFIX) {
    p.add(`${field}.ipv6`, value, 'expected a /64 prefix (SLAAC needs exactly 64 bits of interface identifier)');
  } else if (!isUniqueLocal(cidr.address) && !isGlobalUnicast6(cidr.address)) {
    p.add(`${field}.ipv6`, value, 'expected a unique local (fc00::/7) or global unicast (2000::/3) address');
  } else if (cidr.address === cidr.network) {
    p.add(`${field}.ipv6`, value, 'expected a host address, not the prefix itself (the subnet-router anycast address)');
  }

  // a delegated global prefix is routed to us: NAT on it would be unusual; a ULA one needs NAT to get out
  const ula = auto || isUniqueLocal(cidr.address);
  const modeDefault: Ipv6Mode = ula ? 'nat66' : 'routed';
  const mode = oneOfKey(raw, 'ipv6_mode', IPV6_MODES, modeDefault, field, p);
  const dhcpv6 = oneOfKey(raw, 'dhcpv6', DHCPV6_MODES, 'stateless', field, p);
  let fixAcceptRa = false;
  if (raw.ipv6_fix_accept_ra !== undefined) {
    if (typeof raw.ipv6_fix_accept_ra === 'boolean') fixAcceptRa = raw.ipv6_fix_accept_ra;
    else p.add(`${field}.ipv6_fix_accept_ra`, raw.ipv6_fix_accept_ra, 'expected true or false');
  }
  let pool: [bigint, bigint] | null = null;
  if (dhcpv6 === 'stateful') pool = poolOf6(raw.dhcpv6_range, cidr, auto, `${field}.dhcpv6_range`, p);
  else if (raw.dhcpv6_range !== undefined) p.add(`${field}.dhcpv6_range`, raw.dhcpv6_range, 'expected only with dhcpv6 = "stateful" (stateless hands out no addresses)');

  if (p.list.length > before) return null;
  return {
    auto,
    gateway: formatIPv6(cidr.address),
    prefix: IPV6_PREFIX,
    subnet: formatIPv6(cidr.network),
    mode,
    dhcpv6,
    dhcpStart: pool ? formatIPv6(pool[0]) : null,
    dhcpEnd: pool ? formatIPv6(pool[1]) : null,
    fixAcceptRa,
  };
}

function oneOfKey<T extends string>(raw: Raw, key: string, values: readonly T[], fallback: T, field: string, p: Problems): T {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  p.add(`${field}.${key}`, v, `expected ${values.map((x) => JSON.stringify(x)).join(' or ')}`);
  return fallback;
}

const RANGE_EXAMPLE = 'expected "FIRST-LAST", full addresses inside the prefix or interface identifiers like "::1000-::1fff"';

/** "FIRST-LAST": addresses inside the prefix, or interface identifiers ("::1000") put after it; the only form with `auto`. */
function poolOf6(value: unknown, cidr: Cidr6, auto: boolean, field: string, p: Problems): [bigint, bigint] | null {
  let range: [bigint, bigint];
  if (value === undefined) range = [cidr.network | DEFAULT_POOL[0], cidr.network | DEFAULT_POOL[1]];
  else {
    const parts = typeof value === 'string' ? value.split('-').map((s) => parseIPv6(s.trim())) : [];
    if (parts.length !== 2 || parts[0] === null || parts[1] === null) {
      p.add(field, value, RANGE_EXAMPLE);
      return null;
    }
    const place = (ip: bigint): bigint | null => {
      if (interfaceId6(ip) === ip) return cidr.network | ip;
      return !auto && inSubnet6(ip, cidr) ? ip : null;
    };
    const [start, end] = [place(parts[0]), place(parts[1])];
    if (start === null || end === null) {
      p.add(field, value, auto ? 'expected interface identifiers like "::1000-::1fff" (the auto prefix is not known in advance)' : `expected both ends inside ${formatIPv6(cidr.network)}/${cidr.prefix}`);
      return null;
    }
    if (start > end) {
      p.add(field, value, 'expected FIRST <= LAST');
      return null;
    }
    range = [start, end];
  }
  for (const special of [cidr.network, cidr.address]) {
    if (range[0] <= special && special <= range[1]) {
      p.add(field, value ?? `${formatIPv6(range[0])}-${formatIPv6(range[1])}`, `expected a range that excludes ${formatIPv6(special)} (the prefix or the gateway)`);
      return null;
    }
  }
  return range;
}

/** An `auto` Ipv6Network (relative to ::/64) with its generated prefix put in front; explicit ones unchanged. Pure. */
export function resolveIpv6(v6: Ipv6Network, prefix: bigint): Ipv6Network {
  if (!v6.auto) return v6;
  const net = prefix & prefixMask6(IPV6_PREFIX);
  const put = (text: string) => formatIPv6(net | interfaceId6(parseIPv6(text)!));
  return {
    ...v6,
    gateway: put(v6.gateway),
    subnet: formatIPv6(net),
    dhcpStart: v6.dhcpStart === null ? null : put(v6.dhcpStart),
    dhcpEnd: v6.dhcpEnd === null ? null : put(v6.dhcpEnd),
  };
}

/** An `auto` side whose prefix is not resolved yet (still relative to ::/64). */
export const isUnresolvedIpv6 = (v6: Ipv6Network) => v6.auto && v6.subnet === '::';
