import { XMLParser } from 'fast-xml-parser';

/**
 * Parsed XML as uniform nodes: every child element is an array (even when single),
 * attributes under "$" (values kept as strings, entities decoded).
 */
export interface XmlNode {
  $?: Record<string, string>;
  '#text'?: string;
  [child: string]: XmlNode[] | Record<string, string> | string | undefined;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '$',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  // decodes numeric character references (&#10;) too, which libvirt may emit in names
  htmlEntities: true,
  alwaysCreateTextNode: true,
  isArray: (name, _path, _leaf, isAttribute) => !isAttribute && name !== '$' && name !== '#text',
});

/** The document's root element named `root`, or null when the text is not XML with that root. */
export function parseRoot(xml: string, root: string): XmlNode | null {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml, true) as Record<string, unknown>;
  } catch {
    return null;
  }
  const el = doc[root];
  return Array.isArray(el) && el.length > 0 ? (el[0] as XmlNode) : null;
}

export function children(node: XmlNode | null | undefined, name: string): XmlNode[] {
  const v = node?.[name];
  return Array.isArray(v) ? v : [];
}

export function child(node: XmlNode | null | undefined, name: string): XmlNode | null {
  return children(node, name)[0] ?? null;
}

export function attr(node: XmlNode | null | undefined, name: string): string | null {
  return node?.$?.[name] ?? null;
}

export function text(node: XmlNode | null | undefined): string | null {
  if (!node) return null;
  const t = node['#text'];
  return typeof t === 'string' ? t : null;
}

/** Child element names (keys that are not attributes or text), e.g. "natnet:lease". */
export function elementNames(node: XmlNode): string[] {
  return Object.keys(node).filter((k) => k !== '$' && k !== '#text');
}
