import { NatnetError } from '../errors.js';
import { normaliseMac } from '../net/mac.js';
import { type MetadataLease, metadataLeasesOf } from './metadata.js';
import { attr, child, children, parseRoot, text } from './xml.js';

/** One <interface> of a domain, as libvirt hands it to the qemu hook. */
export interface DomainInterface {
  /** Lower-case colon MAC. */
  mac: string;
  /** <interface type=..>: "bridge", "network", "direct", "user", ... */
  type: string;
  /** <source bridge>: given for type=bridge, and for type=network once the port exists (start on). */
  bridge: string | null;
  /** <source network>: the libvirt network, for type=network. */
  network: string | null;
  /** <target dev>: the host tap, known from `start` on. */
  tap: string | null;
}

export interface DomainInfo {
  name: string;
  uuid: string | null;
  interfaces: DomainInterface[];
  metadataLeases: MetadataLease[];
  /** Problems in our <metadata> element, one line each. */
  metadataProblems: string[];
}

export class DomainXmlError extends NatnetError {}

/** The domain XML libvirt writes on a qemu hook's stdin → what natnet-hook needs of it. */
export function parseDomainXml(xml: string): DomainInfo {
  const dom = parseRoot(xml, 'domain');
  if (!dom) throw new DomainXmlError('stdin: expected <domain> XML');
  const name = text(child(dom, 'name'));
  if (!name) throw new DomainXmlError('stdin: <domain> has no <name>');
  const interfaces: DomainInterface[] = [];
  for (const el of children(child(dom, 'devices'), 'interface')) {
    const mac = normaliseMac(attr(child(el, 'mac'), 'address') ?? '');
    if (!mac) continue; // libvirt always assigns one; nothing to reserve without it
    const source = child(el, 'source');
    interfaces.push({
      mac,
      type: attr(el, 'type') ?? '',
      bridge: attr(source, 'bridge'),
      network: attr(source, 'network'),
      tap: attr(child(el, 'target'), 'dev'),
    });
  }
  const meta = metadataLeasesOf(child(dom, 'metadata'));
  return {
    name,
    uuid: text(child(dom, 'uuid')),
    interfaces,
    metadataLeases: meta.leases,
    metadataProblems: meta.problems,
  };
}
