/**
 * The one XML grammar of the hooks: a streaming walker over the XML libvirt writes on a hook's
 * stdin, linear in the input's size whatever the input is (every scan moves forward; a missing
 * terminator ends the walk instead of being searched for again from the next position), and
 * never throwing (a bad character reference becomes U+FFFD). It takes the well-formed XML libvirt
 * writes (elements, attributes, text, entities, comments, CDATA, PIs, a DOCTYPE without internal
 * subset) and reports anything else as not well-formed. node: free, small: the hook's CommonJS
 * prefilter bundle uses it too, so the fast path and the full parse read the same elements.
 */

/** A collected element: attributes under "$", its text (trimmed) under "#text", child elements as arrays. */
export interface XmlNode {
  $?: Record<string, string>;
  '#text'?: string;
  [child: string]: XmlNode[] | Record<string, string> | string | undefined;
}

export interface XmlVisitor {
  /**
   * An element starts; `path` holds the names from the root down to it (do not keep it).
   * `attrs()` parses its attributes (on demand: most elements' are never needed).
   */
  open(path: readonly string[], attrs: () => Record<string, string>): void;
  /** Text directly inside the element at the end of `path`, raw (decodeXml it unless `cdata`), may come in pieces. */
  text?(path: readonly string[], raw: string, cdata: boolean): void;
  close?(path: readonly string[]): void;
}

/** Deeper than anything libvirt writes; a guard against a stack of millions of open tags. */
const MAX_DEPTH = 128;
// a name starts with a letter, "_" or ":" (so never "$" or "#text", the keys an XmlNode uses)
const NAME = /[A-Za-z_:\u0080-\uffff][^\s<>/=!?'"&]*/y;
const SPACE = /\s*/y;
const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#x([0-9a-fA-F]+)|#([0-9]+));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function codePoint(digits: string, radix: number): string {
  const cp = digits.length > 8 ? Number.NaN : Number.parseInt(digits, radix);
  // XML allows neither NUL, surrogates nor anything past U+10FFFF: never throw (fromCodePoint would)
  return cp > 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
}

/** Character and entity references decoded; unknown entities stay as written. */
export function decodeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (_m, named: string | undefined, hex: string | undefined, dec: string | undefined) =>
    named ? NAMED[named] : hex !== undefined ? codePoint(hex, 16) : codePoint(dec!, 10),
  );
}

function nameAt(xml: string, at: number): string {
  NAME.lastIndex = at;
  return NAME.exec(xml)?.[0] ?? '';
}

function skipSpace(xml: string, at: number): number {
  SPACE.lastIndex = at;
  SPACE.exec(xml);
  return SPACE.lastIndex;
}

/** After `open` at `from`: the index past `close`, or -1 when it never comes (the walk ends there). */
function past(xml: string, from: number, close: string): number {
  const i = xml.indexOf(close, from);
  return i < 0 ? -1 : i + close.length;
}

/**
 * Walks `xml`, calling `v` for every element and text. Returns true when the document is
 * well-formed (one root, every element closed), false otherwise; the visitor has then seen
 * the elements up to the point where it stopped.
 */
export function walkXml(xml: string, v: XmlVisitor): boolean {
  const path: string[] = [];
  let roots = 0;
  let i = 0;
  for (;;) {
    const lt = xml.indexOf('<', i);
    const end = lt < 0 ? xml.length : lt;
    if (end > i) {
      if (path.length > 0) v.text?.(path, xml.slice(i, end), false);
      else if (xml.slice(i, end).trim() !== '') return false;
    }
    if (lt < 0) return roots === 1 && path.length === 0;
    if (xml.startsWith('<!--', lt)) i = past(xml, lt + 4, '-->');
    else if (xml.startsWith('<![CDATA[', lt)) {
      i = past(xml, lt + 9, ']]>');
      if (i >= 0 && path.length > 0) v.text?.(path, xml.slice(lt + 9, i - 3), true);
    } else if (xml.startsWith('<?', lt)) i = past(xml, lt + 2, '?>');
    else if (xml.startsWith('<!', lt)) i = past(xml, lt + 2, '>');
    else if (xml[lt + 1] === '/') {
      const name = nameAt(xml, lt + 2);
      const gt = skipSpace(xml, lt + 2 + name.length);
      if (xml[gt] !== '>' || path[path.length - 1] !== name) return false;
      v.close?.(path);
      path.pop();
      i = gt + 1;
    } else {
      if (path.length === 0) roots++;
      i = startTag(xml, lt, path, v);
    }
    if (i < 0 || roots > 1) return false;
  }
}

/** One start tag at `lt`: opens it (and closes it again when it ends in "/>"). The index after it, or -1. */
function startTag(xml: string, lt: number, path: string[], v: XmlVisitor): number {
  const name = nameAt(xml, lt + 1);
  if (!name || path.length >= MAX_DEPTH) return -1;
  const from = lt + 1 + name.length;
  const after = tagEnd(xml, from);
  if (after < 0) return -1;
  const empty = xml[after - 2] === '/';
  const to = empty ? after - 2 : after - 1;
  if (to > from && !/\s/.test(xml[from])) return -1;
  let parsed: Record<string, string> | null = null;
  path.push(name);
  v.open(path, () => {
    parsed ??= parseAttributes(xml, from, to);
    return parsed;
  });
  if (empty) {
    v.close?.(path);
    path.pop();
  }
  return after;
}

/**
 * The index after the ">" ending the start tag whose inside begins at `from`, or -1. A loop, not
 * a regex: V8 runs out of stack on a repeated group over megabytes (a RangeError, not a no-match).
 */
function tagEnd(xml: string, from: number): number {
  let p = from;
  while (p < xml.length) {
    const c = xml.charCodeAt(p);
    if (c === 0x3e) return p + 1; // >
    if (c === 0x3c) return -1; // <
    if (c === 0x22 || c === 0x27) {
      // a quoted value, jumped over whole: its closing quote
      const close = xml.indexOf(c === 0x22 ? '"' : "'", p + 1);
      if (close < 0) return -1;
      p = close + 1;
    } else p++;
  }
  return -1;
}

/** More attributes than any element libvirt writes has: the rest are not kept (a huge dictionary is slow). */
const MAX_ATTRS = 64;

/** The attributes between `from` and `to` (a start tag's inside after its name), decoded; {} when they are malformed. Linear. */
function parseAttributes(xml: string, from: number, to: number): Record<string, string> {
  const attrs: Record<string, string> = Object.create(null);
  let at = from;
  let kept = 0;
  for (;;) {
    const next = skipSpace(xml, at);
    if (next >= to || kept >= MAX_ATTRS) return attrs;
    const key = nameAt(xml, next);
    const eq = skipSpace(xml, next + key.length);
    if (!key || xml[eq] !== '=') return Object.create(null);
    const q = skipSpace(xml, eq + 1);
    const quote = xml[q];
    const close = quote === '"' || quote === "'" ? xml.indexOf(quote, q + 1) : -1;
    if (close < 0 || close >= to) return Object.create(null);
    if (!Object.hasOwn(attrs, key)) {
      attrs[key] = decodeXml(xml.slice(q + 1, close));
      kept++;
    }
    at = close + 1;
  }
}

/**
 * Builds the XmlNode of one selected element and everything inside it, during a walk: call
 * `element` for each element from the selected one down, `text` and `end` while `active`.
 */
export class SubtreeBuilder {
  private stack: { node: XmlNode; text: string[] }[] = [];

  get active(): boolean {
    return this.stack.length > 0;
  }

  element(name: string, attrs: Record<string, string>): void {
    const node: XmlNode = { $: attrs };
    const parent = this.stack[this.stack.length - 1]?.node;
    if (parent) {
      const list = children(parent, name);
      if (list.length > 0) list.push(node);
      // defineProperty: an element may be called "__proto__"
      else Object.defineProperty(parent, name, { value: [node], enumerable: true, writable: true, configurable: true });
    }
    this.stack.push({ node, text: [] });
  }

  text(t: string): void {
    this.stack[this.stack.length - 1]?.text.push(t);
  }

  /** Ends the innermost element; returns the selected one once it is complete. */
  end(): XmlNode | null {
    const top = this.stack.pop();
    if (!top) return null;
    top.node['#text'] = top.text.join('').trim();
    return this.stack.length === 0 ? top.node : null;
  }
}

export function children(node: XmlNode | null | undefined, name: string): XmlNode[] {
  const v = node && Object.hasOwn(node, name) ? node[name] : undefined;
  return Array.isArray(v) ? v : [];
}

export function child(node: XmlNode | null | undefined, name: string): XmlNode | null {
  return children(node, name)[0] ?? null;
}

export function attr(node: XmlNode | null | undefined, name: string): string | null {
  const a = node?.$;
  return a && Object.hasOwn(a, name) ? a[name] : null;
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
