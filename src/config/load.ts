import { type Dirent, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { isTempFile } from '../state/layout.js';
import { assertTrustedDirs } from '../state/trust.js';
import type { Context } from '../engine/context.js';
import { readDomainRecords } from '../engine/domains.js';
import { withStoredIpv6Prefixes } from '../engine/ipv6-prefix.js';
import { ConfigError, describeErrno, isErrnoError } from '../errors.js';
import { resolveListenerOptions } from '../listen/options.js';
import type { Forward, ResolvedForward } from '../model/forward.js';
import type { Config, DomainRecord, Lease } from '../model/types.js';
import { normaliseForward, resolveForwards, sameForward } from './forward.js';
import { normaliseLease, normaliseVmName } from './lease.js';
import { parseMainConfig, parseVmFile } from './parse.js';
import { Problems } from './problems.js';
import { readText, UnreadableFileError } from './read-text.js';
import { validateLeases, validateNetworks } from './validate.js';

export interface LoadedConfig extends Config {
  /** Problems that did not stop us (e.g. a stored VM's metadata lease that now conflicts and was dropped). */
  warnings: string[];
  /** The raw [listener] table, for the listener. */
  listener: Record<string, unknown>;
  domains: DomainRecord[];
  /** Port forwards with their targets (the VMs' reserved addresses). */
  forwards: ResolvedForward[];
}

export interface LoadOptions {
  /** A VM being started: its metadata leases are checked strictly (errors), and it replaces its stored record. */
  domain?: DomainRecord;
  /** Several VMs being started together: each as `domain`. */
  domains?: DomainRecord[];
  /** Extra or replaced leases.d content, for `lease add` validation before anything is written. */
  leaseFileOverride?: { file: string; leases: Lease[] | null; forwards?: Forward[] };
}

/**
 * leases.d/*.toml in name order; temp files of atomic writes are skipped. `regular`: the listing
 * says it is a regular file (else readText checks with fstat). [] when leases.d does not exist;
 * a leases.d that cannot be listed (not a directory, no permission) is a config error.
 */
export function leaseEntries(dir: string): { file: string; regular: boolean }[] {
  const base = resolve(dir);
  let entries: Dirent[];
  try {
    entries = readdirSync(base, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError([{ file: base, field: '', expected: isErrnoError(e) ? describeErrno(e) : String(e) }]);
  }
  return (
    entries
      .filter((d) => d.name.endsWith('.toml') && !isTempFile(d.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      // plain concatenation: path.join's normalisation per file showed up with 10k files
      .map((d) => ({ file: `${base}/${d.name}`, regular: d.isFile() }))
  );
}

export function leaseFiles(dir: string): string[] {
  return leaseEntries(dir).map((e) => e.file);
}

/**
 * A config or leases.d file's text; null when absent or unusable (then a problem names the file
 * and why). `replacing`: the file `lease add/rm` replaces, whose content does not matter (bad
 * bytes in it are what a new lease repairs) but which must still be a readable regular file.
 */
function readConfigText(file: string, p: Problems, listedAsRegular = false, replacing = false): string | null {
  try {
    return readText(file, listedAsRegular);
  } catch (e) {
    if (!(e instanceof UnreadableFileError)) throw e;
    if (!(replacing && e.content)) p.forFile(file).add('', undefined, e.message);
    return null;
  }
}

/** A VM's <metadata> leases, re-checked on every read: records on disk are not trusted as they are. */
export function metadataLeases(rec: DomainRecord): { leases: Lease[]; problems: Problems } {
  const p = new Problems(`domain ${JSON.stringify(rec.vm)} <metadata>`);
  const leases = rec.metadataLeases
    .map((m, i) => normaliseLease({ vm: rec.vm, ip: m.ip, ...(m.mac ? { mac: m.mac } : {}), ...(m.hostname ? { hostname: m.hostname } : {}) }, `lease[${i}]`, p))
    .filter((l) => l !== null);
  return { leases, problems: p };
}

/**
 * Read, normalise and validate everything (config file, leases.d, hook-learned domains).
 * Throws ConfigError with ALL problems; nothing should be applied then.
 */
export function loadConfig(ctx: Context, opts: LoadOptions = {}): LoadedConfig {
  assertTrustedDirs(ctx);
  const p = new Problems(ctx.configPath);
  const mainText = readConfigText(ctx.configPath, p);
  // an unreadable config is reported alone, not followed by problems of the default network
  if (p.list.length > 0) throw new ConfigError(p.list);
  const main = parseMainConfig(mainText ?? '', p);
  // `ipv6 = "auto"`: the prefix kept in the state, so every caller plans with the same one
  main.networks = withStoredIpv6Prefixes(ctx, main.networks);
  p.list.push(...validateNetworks(ctx.configPath, main.networks));
  try {
    resolveListenerOptions(main.listener, ctx.configPath);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    p.list.push(...e.problems);
  }

  const fileLeases: Lease[] = [...main.leases];
  const forwards: Forward[] = [...main.forwards];
  const override = opts.leaseFileOverride;
  let entries: ReturnType<typeof leaseEntries> = [];
  try {
    entries = leaseEntries(ctx.leasesDir);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    p.list.push(...e.problems);
  }
  for (const { file, regular } of entries) {
    const replacing = file === override?.file;
    const text = readConfigText(file, p, regular, replacing);
    if (text !== null && !replacing) {
      const content = parseVmFile(text, p.forFile(file));
      fileLeases.push(...content.leases);
      forwards.push(...content.forwards);
    }
  }
  if (override?.leases) fileLeases.push(...override.leases);
  if (override?.forwards) forwards.push(...override.forwards);

  const hard = validateLeases(main.networks, fileLeases);
  p.list.push(...hard);

  // VM names are compared in one form (NFC), whatever form libvirt handed the hook
  const starting = [...(opts.domain ? [opts.domain] : []), ...(opts.domains ?? [])].map(withNormalVmName);
  const startingVms = new Set(starting.map((d) => d.vm));
  const domains = [...readDomainRecords(ctx).map(withNormalVmName).filter((d) => !startingVms.has(d.vm)), ...starting];
  const warnings: string[] = [];
  const leases = [...fileLeases];
  const pinnedVms = new Set(fileLeases.map((l) => l.vm));
  for (const rec of domains) {
    const strict = startingVms.has(rec.vm);
    const { leases: meta, problems: unreadable } = metadataLeases(rec);
    if (meta.length === 0 && unreadable.list.length === 0) continue;
    const problems = [
      ...unreadable.list,
      ...(pinnedVms.has(rec.vm)
        ? conflictsWithPinned(meta, fileLeases)
        : validateLeases(main.networks, [...leases, ...meta]).filter((q) => q.involved.some((l) => meta.includes(l)))),
    ];
    if (problems.length === 0) {
      if (!pinnedVms.has(rec.vm)) leases.push(...meta);
    } else if (strict) p.list.push(...problems);
    else warnings.push(...problems.map((q) => `${q.file}: ${q.field}: ${q.expected} (metadata lease ignored)`));
  }
  // forwards target the final reservations (metadata ones included)
  const resolved = resolveForwards(main.networks, leases, forwards);
  p.list.push(...resolved.problems);
  let accepted: ResolvedForward[] = resolved.resolved;
  for (const rec of domains) {
    if (!rec.metadataForwards?.length) continue;
    const strict = startingVms.has(rec.vm);
    const { forwards: meta, problems: unreadable } = metadataForwards(rec);
    // config wins: a metadata forward saying what the files say for this VM adds nothing
    const fresh = meta.filter((m) => !forwards.some((f) => f.vm === m.vm && sameForward(f, m)));
    const r = resolveForwards(main.networks, leases, [...accepted, ...fresh]);
    const problems = [...unreadable.list, ...r.problems.filter((q) => q.involved.some((f) => fresh.includes(f)))];
    if (problems.length === 0) accepted = r.resolved;
    else if (strict) p.list.push(...problems);
    else warnings.push(...problems.map((q) => `${q.file}: ${q.field}: ${q.expected} (metadata forward ignored)`));
  }
  if (p.list.length > 0) throw new ConfigError(p.list);
  return { file: ctx.configPath, networks: main.networks, leases, warnings, listener: main.listener, domains, forwards: accepted };
}

/** A VM's <metadata> forwards, validated like [[forward]] tables on every read. */
export function metadataForwards(rec: DomainRecord): { forwards: Forward[]; problems: Problems } {
  const p = new Problems(`domain ${JSON.stringify(rec.vm)} <metadata>`);
  const forwards = (rec.metadataForwards ?? [])
    .map((m, i) => {
      const raw: Record<string, unknown> = { vm: rec.vm, port: m.port };
      if (m.proto !== undefined) raw.proto = m.proto;
      if (m.toPort !== undefined) raw.to_port = m.toPort;
      if (m.listen !== undefined) raw.listen = m.listen;
      if (m.source !== undefined) raw.source = m.source.split(/[\s,]+/).filter(Boolean);
      return normaliseForward(raw, `forward[${i}]`, p);
    })
    .filter((f) => f !== null);
  return { forwards, problems: p };
}

function withNormalVmName(rec: DomainRecord): DomainRecord {
  const vm = normaliseVmName(rec.vm);
  return vm === rec.vm ? rec : { ...rec, vm };
}

/** A VM with a configured lease may also carry metadata, but it must say the same thing. */
function conflictsWithPinned(meta: Lease[], fileLeases: Lease[]) {
  return meta
    .filter((m) => !fileLeases.some((f) => f.vm === m.vm && f.ip === m.ip && (m.macs.length === 0 || f.macs.length === 0 || f.macs.includes(m.macs[0]))))
    .map((m) => {
      const pinned = fileLeases.find((f) => f.vm === m.vm)!;
      return {
        file: m.source.file,
        field: `${m.source.field}.ip`,
        value: m.ip,
        expected: `expected ${pinned.ip}, the address ${pinned.source.file} reserves for this VM (config wins; fix or remove one)`,
        involved: [m],
      };
    });
}
