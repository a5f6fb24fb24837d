import { formatIPv4, parseIPv4 } from '../net/ipv4.js';
import { formatIPv6, parseIPv6 } from '../net/ipv6.js';
import { normaliseMac } from '../net/mac.js';
import { isValidHostname } from '../net/names.js';
import { attr, children, elementNames, type XmlNode } from './xml.js';

/**
 * natnet-hook's namespace inside a domain's <metadata>. One VM address:
 *   <natnet:lease xmlns:natnet="https://natnet-hook.dev/xmlns/1" ip="192.168.100.20" hostname="web"/>
 * with an IPv6 reservation (DHCPv6, a network with dhcpv6 = "stateful"): ip6="fd00:1:2:3::20".
 * or one per NIC (a VM with several NICs on the bridge):
 *   <natnet:leases xmlns:natnet="https://natnet-hook.dev/xmlns/1">
 *     <natnet:lease mac="52:54:00:aa:bb:11" ip="192.168.100.21" hostname="web1"/> ...
 *   </natnet:leases>
 * Port forwards to the VM's reserved address, inside <lease> or <leases> (libvirt keeps one element
 * per namespace) or on their own:
 *   <natnet:lease ip="192.168.100.20"><natnet:forward proto="tcp" port="8080" to-port="80"/></natnet:lease>
 * The prefix is free; the URI is what counts. Set it with
 *   virsh metadata VM --uri https://natnet-hook.dev/xmlns/1 --key natnet --config \
 *     --set '<lease ip="192.168.100.20" hostname="web"/>'
 */
export const NATNET_XMLNS = 'https://natnet-hook.dev/xmlns/1';

export interface MetadataLease {
  ip: string;
  /** RFC 5952 form. */
  ip6?: string;
  mac?: string;
  hostname?: string;
}

/** A <forward>'s attributes as written; validated like a [[forward]] table on every load (config/forward.ts). */
export interface MetadataForward {
  port: string;
  proto?: string;
  toPort?: string;
  listen?: string;
  /** Comma or space separated CIDRs. */
  source?: string;
}

export interface MetadataResult {
  leases: MetadataLease[];
  forwards: MetadataForward[];
  /** One line each: what is wrong with our metadata (e.g. lease[1].mac = "zz": expected a MAC). */
  problems: string[];
}

function prefixOf(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? '' : name.slice(0, i);
}

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** The URI an element's prefix is bound to, looking only at the element itself (libvirt declares it there). */
function namespaceOf(el: XmlNode, name: string): string | null {
  const p = prefixOf(name);
  return attr(el, p ? `xmlns:${p}` : 'xmlns');
}

/** Whether a <metadata> child's attributes bind our namespace (libvirt declares it on the element itself). */
export function declaresNatnetNamespace(attrs: Record<string, string>): boolean {
  return Object.keys(attrs).some((k) => (k === 'xmlns' || k.startsWith('xmlns:')) && attrs[k] === NATNET_XMLNS);
}

function leaseFrom(el: XmlNode, field: string, out: MetadataResult): void {
  const ip = attr(el, 'ip');
  const mac = attr(el, 'mac');
  const hostname = attr(el, 'hostname');
  if (ip === null || ip.trim() === '') {
    out.problems.push(`${field}.ip: missing (expected ip="a.b.c.d")`);
    return;
  }
  const addr = parseIPv4(ip.trim());
  if (addr === null) {
    out.problems.push(`${field}.ip = ${JSON.stringify(ip)}: expected an IPv4 address like 192.168.100.20`);
    return;
  }
  const lease: MetadataLease = { ip: formatIPv4(addr) };
  const ip6 = attr(el, 'ip6');
  if (ip6 !== null) {
    const a6 = parseIPv6(ip6.trim());
    if (a6 === null) {
      out.problems.push(`${field}.ip6 = ${JSON.stringify(ip6)}: expected an IPv6 address like fd00:1:2:3::20`);
      return;
    }
    lease.ip6 = formatIPv6(a6);
  }
  if (mac !== null) {
    const m = normaliseMac(mac);
    if (m === null) {
      out.problems.push(`${field}.mac = ${JSON.stringify(mac)}: expected a MAC like 52:54:00:12:34:56`);
      return;
    }
    lease.mac = m;
  }
  if (hostname !== null) {
    // it ends up in dnsmasq's hostsfile: a DNS label or nothing (no commas, newlines, ...)
    if (!isValidHostname(hostname)) {
      out.problems.push(`${field}.hostname = ${JSON.stringify(hostname)}: expected a DNS label: 1-63 letters, digits or "-"`);
      return;
    }
    lease.hostname = hostname.toLowerCase();
  }
  out.leases.push(lease);
}

function forwardFrom(el: XmlNode, field: string, out: MetadataResult): void {
  const port = attr(el, 'port');
  if (port === null || port.trim() === '') {
    out.problems.push(`${field}.port: missing (expected port="8080")`);
    return;
  }
  const f: MetadataForward = { port };
  for (const [key, name] of [['proto', 'proto'], ['toPort', 'to-port'], ['listen', 'listen'], ['source', 'source']] as const) {
    const v = attr(el, name);
    if (v !== null) f[key] = v;
  }
  out.forwards.push(f);
}

/** <forward> children of one of our elements. */
function forwardsIn(el: XmlNode, prefix: string, field: string, out: MetadataResult): void {
  for (const [i, f] of children(el, prefix ? `${prefix}:forward` : 'forward').entries()) forwardFrom(f, `${field}.forward[${i}]`, out);
}

/** Leases (and port forwards) from a domain's <metadata> element (null/absent → none). */
export function metadataLeasesOf(metadata: XmlNode | null): MetadataResult {
  const out: MetadataResult = { leases: [], forwards: [], problems: [] };
  if (!metadata) return out;
  for (const name of elementNames(metadata)) {
    for (const el of children(metadata, name)) {
      if (namespaceOf(el, name) !== NATNET_XMLNS) continue;
      const p = prefixOf(name);
      const local = localName(name);
      if (local === 'lease') {
        leaseFrom(el, 'lease', out);
        forwardsIn(el, p, 'lease', out);
      } else if (local === 'leases') {
        const inner = children(el, p ? `${p}:lease` : 'lease');
        for (const [i, l] of inner.entries()) leaseFrom(l, `leases.lease[${i}]`, out);
        forwardsIn(el, p, 'leases', out);
      } else if (local === 'forward') forwardFrom(el, 'forward', out);
      else out.problems.push(`<${local}>: unknown element (expected <lease>, <leases> or <forward>)`);
    }
  }
  return out;
}
