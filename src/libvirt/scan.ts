/**
 * Cheap pre-filter for the hook's fast path: which bridges and libvirt networks a domain's
 * interfaces name, by regex, without loading the XML parser (~15 ms of start-up). It may
 * over-report (then the full parse decides) but never misses an interface libvirt writes.
 */
export interface InterfaceScan {
  bridges: string[];
  networks: string[];
}

const INTERFACE = /<interface\b[\s\S]*?<\/interface>/g;
const SOURCE = /<source\b([^>]*)>/g;
const ATTR = /\b(bridge|network)\s*=\s*(?:'([^']*)'|"([^"]*)")/g;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos);|&#(x[0-9a-fA-F]+|\d+);/g, (_, name: string | undefined, num: string | undefined) =>
    name ? ENTITIES[name] : String.fromCodePoint(num!.startsWith('x') ? Number.parseInt(num!.slice(1), 16) : Number(num)),
  );
}

/** The bridge of a network hook's <hookData><network><bridge name=..>. */
export function scanNetworkBridge(xml: string): string | null {
  const m = /<network\b[\s\S]*?<bridge\b[^>]*\bname\s*=\s*(?:'([^']*)'|"([^"]*)")/.exec(xml);
  return m ? decode(m[1] ?? m[2] ?? '') : null;
}

export function scanInterfaces(xml: string): InterfaceScan {
  const bridges = new Set<string>();
  const networks = new Set<string>();
  for (const [block] of xml.matchAll(INTERFACE)) {
    for (const [, attrs] of block.matchAll(SOURCE)) {
      for (const m of attrs.matchAll(ATTR)) {
        const value = decode(m[2] ?? m[3] ?? '');
        (m[1] === 'bridge' ? bridges : networks).add(value);
      }
    }
  }
  return { bridges: [...bridges], networks: [...networks] };
}
