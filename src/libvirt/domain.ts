import { declaresNatnetNamespace, type MetadataForward, type MetadataLease, metadataLeasesOf } from './metadata.js';
import { type DomainInterface, scanDomain } from './scan.js';
import { NatnetError } from '../errors.js';

export type { DomainInterface };

export interface DomainInfo {
  name: string;
  uuid: string | null;
  interfaces: DomainInterface[];
  metadataLeases: MetadataLease[];
  metadataForwards: MetadataForward[];
  /** Problems in our <metadata> element, one line each. */
  metadataProblems: string[];
}

export class DomainXmlError extends NatnetError {}

/** The domain XML libvirt writes on a qemu hook's stdin → what natnet-hook needs of it. */
export function parseDomainXml(xml: string): DomainInfo {
  const d = scanDomain(xml, declaresNatnetNamespace);
  if (!d.wellFormed) throw new DomainXmlError('stdin: expected <domain> XML');
  if (!d.name) throw new DomainXmlError('stdin: <domain> has no <name>');
  const meta = metadataLeasesOf(d.metadata);
  return {
    name: d.name,
    uuid: d.uuid,
    interfaces: d.interfaces,
    metadataLeases: meta.leases,
    metadataForwards: meta.forwards,
    metadataProblems: meta.problems,
  };
}
