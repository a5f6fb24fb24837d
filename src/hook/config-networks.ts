import { parseMainConfig } from '../config/parse.js';
import { Problems } from '../config/problems.js';
import type { OurNetwork } from './network-cache.js';

/** A config's `bridge = "..."` lines: the bridges guessed from a config that does not parse (also by the hook shims). */
export const BRIDGE_LINE = /^[ \t]*bridge[ \t]*=[ \t]*["']([^"'\n]+)["']/gm;

/** The bridges a config names. `clean` is false when it has problems (then bridges are best effort). */
export function networksFromConfigText(file: string, text: string): { networks: OurNetwork[]; clean: boolean } {
  const p = new Problems(file);
  const parsed = parseMainConfig(text, p);
  const networks = parsed.networks.map((n) => ({ name: n.name, bridge: n.bridge, downWhenIdle: n.downWhenIdle }));
  if (p.list.length === 0) return { networks, clean: true };
  const named = new Set(networks.map((n) => n.bridge));
  for (const m of text.matchAll(BRIDGE_LINE)) {
    if (!named.has(m[1])) networks.push({ name: `(unparsed: ${m[1]})`, bridge: m[1], downWhenIdle: false });
  }
  return { networks, clean: false };
}
