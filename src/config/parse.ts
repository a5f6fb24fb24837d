import { parse, TomlError } from 'smol-toml';
import type { Forward } from '../model/forward.js';
import type { Lease, Network } from '../model/types.js';
import { DEFAULT_NETWORK, TOP_LEVEL_KEYS } from './defaults.js';
import { normaliseForward } from './forward.js';
import { normaliseLease } from './lease.js';
import { normaliseNetwork } from './network.js';
import { parseSimpleToml } from './simple-toml.js';
import type { Problems } from './problems.js';

type Raw = Record<string, unknown>;

/** TOML text → table, or null with a problem naming line and column. */
export function parseToml(text: string, p: Problems): Raw | null {
  try {
    return parse(text) as Raw;
  } catch (e) {
    if (e instanceof TomlError) {
      p.add(`line ${e.line}, column ${e.column}`, undefined, `expected valid TOML (${e.message.split('\n')[0]})`);
    } else p.add('(file)', undefined, `expected valid TOML (${String(e)})`);
    return null;
  }
}

function tables(raw: Raw, key: string, p: Problems): Raw[] {
  const v = raw[key];
  if (v === undefined) return [];
  if (Array.isArray(v) && v.every((t) => t !== null && typeof t === 'object' && !Array.isArray(t))) return v as Raw[];
  p.add(key, undefined, `expected [[${key}]] tables`);
  return [];
}

export interface ParsedMain {
  networks: Network[];
  leases: Lease[];
  forwards: Forward[];
  listener: Raw;
}

/** The main config file's text → networks, leases and the [listener] table. Empty text = the handbook's network. */
export function parseMainConfig(text: string, p: Problems): ParsedMain {
  const raw = parseToml(text, p) ?? {};
  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL_KEYS.has(key)) p.add(key, raw[key], `unknown key (known: ${[...TOP_LEVEL_KEYS].join(', ')})`);
  }
  const networkTables = raw.network === undefined ? [{ ...DEFAULT_NETWORK }] : tables(raw, 'network', p);
  const networks = networkTables.map((t, i) => normaliseNetwork(t, `network[${i}]`, p)).filter((n) => n !== null);
  const leases = tables(raw, 'lease', p)
    .map((t, i) => normaliseLease(t, `lease[${i}]`, p))
    .filter((l) => l !== null);
  const forwards = tables(raw, 'forward', p)
    .map((t, i) => normaliseForward(t, `forward[${i}]`, p))
    .filter((f) => f !== null);
  const listener = raw.listener;
  if (listener !== undefined && (typeof listener !== 'object' || Array.isArray(listener))) {
    p.add('listener', listener, 'expected a [listener] table');
  }
  return { networks, leases, forwards, listener: (listener as Raw) ?? {} };
}

/** A leases.d file's leases (see parseVmFile). */
export function parseLeaseFile(text: string, p: Problems): Lease[] {
  return parseVmFile(text, p).leases;
}

/**
 * A leases.d file: the lease keys at top level, or several [[lease]] tables (one per NIC), and
 * any [[forward]] tables (their vm defaults to the file's one VM). A file may hold only forwards.
 */
export function parseVmFile(text: string, p: Problems): { leases: Lease[]; forwards: Forward[] } {
  const raw = parseSimpleToml(text) ?? parseToml(text, p);
  if (!raw) return { leases: [], forwards: [] };
  const { forward, ...rest } = raw as Raw;
  let leases: Lease[];
  if (rest.lease !== undefined) {
    const extra = Object.keys(rest).filter((k) => k !== 'lease');
    for (const k of extra) p.add(k, rest[k], 'expected only [[lease]] and [[forward]] tables when [[lease]] is used');
    leases = tables(rest, 'lease', p)
      .map((t, i) => normaliseLease(t, `lease[${i}]`, p))
      .filter((l) => l !== null);
  } else if (forward !== undefined && Object.keys(rest).length === 0) leases = [];
  else {
    const lease = normaliseLease(rest, '', p);
    leases = lease ? [lease] : [];
  }
  if (forward === undefined) return { leases, forwards: [] };
  const vms = [...new Set(leases.map((l) => l.vm))];
  const fixedVm = vms.length === 1 ? vms[0] : typeof rest.vm === 'string' ? rest.vm : undefined;
  const forwards = tables({ forward }, 'forward', p)
    .map((t, i) => normaliseForward(t, `forward[${i}]`, p, fixedVm))
    .filter((f) => f !== null);
  return { leases, forwards };
}
