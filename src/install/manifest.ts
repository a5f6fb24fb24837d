import { createHash } from 'node:crypto';
import { isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { NatnetError } from '../errors.js';
import { INSTALL_MANIFEST } from '../state/layout.js';
import { array, object, oneOf, SchemaError, string } from '../state/schema.js';
import { readRecord } from '../state/store.js';

export class ManifestError extends NatnetError {}

/** What `install` wrote, so `uninstall` removes exactly that: <root>/var/lib/natnet-hook/install.json. */
export type InstalledKind = 'hook' | 'config' | 'system' | 'unit';

export interface InstalledFile {
  /** Relative to the install root (so `--root` builds a tree that is valid at /). */
  path: string;
  kind: InstalledKind;
  sha256: string;
}

export interface InstalledLink {
  /** Relative to the root. */
  path: string;
  /** What install made it point at (removed only while it still does). */
  target: string;
}

export interface Manifest {
  version: 2;
  files: InstalledFile[];
  links: InstalledLink[];
  /** Version directories install copied below usr/lib/natnet-hook/ (not ones a package manager put there). */
  runtimes: string[];
  /** Directories install created, relative to the root (removed by uninstall when empty). */
  dirs: string[];
  /** Config and state paths the hooks were pointed at, as they see them (to take networks down). */
  config: string;
  stateDir: string | null;
}

export function manifestPath(root: string): string {
  return join(root, INSTALL_MANIFEST);
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A version directory name: what `natnet-hook --version` prints, never "current", ".", ".." or a path. */
export const VERSION_NAME = /^(?!current$)[0-9A-Za-z][0-9A-Za-z.+~_-]{0,63}$/;

/** A path relative to the root, normalised, with no way out of it: uninstall joins it to the root. */
export function relativePath(v: unknown, at: string): string {
  const p = string(v, at);
  if (p === '' || isAbsolute(p) || normalize(p) !== p || p === '.' || p.split('/').includes('..') || p.endsWith('/')) {
    throw new SchemaError(at, 'a normalised path relative to the install root, without ..');
  }
  return p;
}

/** Version 1 recorded absolute paths with the root prefix: the same path, made relative (still only inside the root). */
function legacyPath(root: string) {
  const base = resolve(root);
  return (v: unknown, at: string): string => {
    const p = string(v, at);
    const rel = relative(base, p);
    if (!isAbsolute(p) || normalize(p) !== p || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new SchemaError(at, `an absolute, normalised path inside ${base}`);
    }
    return rel;
  };
}

function absolute(v: unknown, at: string): string {
  const p = string(v, at);
  if (!isAbsolute(p) || normalize(p) !== p) throw new SchemaError(at, 'an absolute, normalised path');
  return p;
}

/** The manifest names files uninstall deletes: every path in it must lie inside the root. */
function manifestOf(root: string) {
  return (v: unknown): Manifest => {
    const o = object(v, '');
    if (o.version !== 1 && o.version !== 2) throw new SchemaError('.version', '1 or 2');
    const path = o.version === 1 ? legacyPath(root) : relativePath;
    return {
      version: 2,
      files: array(o.files, '.files').map((f, i) => {
        const x = object(f, `.files[${i}]`);
        const hash = string(x.sha256, `.files[${i}].sha256`);
        if (!/^[0-9a-f]{64}$/.test(hash)) throw new SchemaError(`.files[${i}].sha256`, 'a sha256 in hex');
        return { path: path(x.path, `.files[${i}].path`), kind: oneOf(x.kind, `.files[${i}].kind`, ['hook', 'config', 'system', 'unit'] as const), sha256: hash };
      }),
      links: (o.version === 1 ? [] : array(o.links, '.links')).map((l, i) => {
        const x = object(l, `.links[${i}]`);
        return { path: relativePath(x.path, `.links[${i}].path`), target: string(x.target, `.links[${i}].target`) };
      }),
      runtimes: (o.version === 1 ? [] : array(o.runtimes, '.runtimes')).map((r, i) => {
        const name = string(r, `.runtimes[${i}]`);
        if (!VERSION_NAME.test(name)) throw new SchemaError(`.runtimes[${i}]`, 'a version name like 0.1.0');
        return name;
      }),
      dirs: array(o.dirs, '.dirs').map((d, i) => path(d, `.dirs[${i}]`)),
      config: absolute(o.config, '.config'),
      stateDir: o.stateDir === null ? null : absolute(o.stateDir, '.stateDir'),
    };
  };
}

/** The manifest, null when none; a manifest that is not what install writes is an error naming it. */
export function readManifest(root: string): Manifest | null {
  const r = readRecord(manifestPath(root), manifestOf(root));
  if (r.kind === 'absent') return null;
  if (r.kind === 'bad') throw new ManifestError(`${r.bad.file}: ${r.bad.why}; not trusted to name files to remove (fix or remove it)`);
  return r.value;
}

export function writeManifest(root: string, m: Manifest): void {
  writeFileAtomic(manifestPath(root), `${JSON.stringify(m, null, 2)}\n`, 0o644);
}
