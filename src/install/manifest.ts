import { createHash } from 'node:crypto';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { NatnetError } from '../errors.js';
import { INSTALL_MANIFEST } from '../state/layout.js';
import { array, object, oneOf, SchemaError, string } from '../state/schema.js';
import { readRecord } from '../state/store.js';

export class ManifestError extends NatnetError {}

/** What `install` wrote, so `uninstall` removes exactly that: <root>/var/lib/natnet-hook/install.json. */
export type InstalledKind = 'hook' | 'config' | 'system' | 'unit';

export interface InstalledFile {
  path: string;
  kind: InstalledKind;
  sha256: string;
}

export interface Manifest {
  version: 1;
  files: InstalledFile[];
  /** Directories install created (removed by uninstall when empty). */
  dirs: string[];
  /** Config and state paths the hooks were pointed at (for purge). */
  config: string;
  stateDir: string | null;
}

export function manifestPath(root: string): string {
  return join(root, INSTALL_MANIFEST);
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A path install may have written: absolute, normalised, inside the install root. */
function pathUnder(root: string) {
  const base = resolve(root);
  return (v: unknown, at: string): string => {
    const p = string(v, at);
    if (!isAbsolute(p) || normalize(p) !== p || !(p === base || p.startsWith(base === '/' ? '/' : `${base}/`))) {
      throw new SchemaError(at, `an absolute, normalised path inside ${base}`);
    }
    return p;
  };
}

/** The manifest names files uninstall deletes: every path in it must lie inside the root. */
function manifestOf(root: string) {
  const under = pathUnder(root);
  return (v: unknown): Manifest => {
    const o = object(v, '');
    if (o.version !== 1) throw new SchemaError('.version', '1');
    return {
      version: 1,
      files: array(o.files, '.files').map((f, i) => {
        const x = object(f, `.files[${i}]`);
        const hash = string(x.sha256, `.files[${i}].sha256`);
        if (!/^[0-9a-f]{64}$/.test(hash)) throw new SchemaError(`.files[${i}].sha256`, 'a sha256 in hex');
        return { path: under(x.path, `.files[${i}].path`), kind: oneOf(x.kind, `.files[${i}].kind`, ['hook', 'config', 'system', 'unit'] as const), sha256: hash };
      }),
      dirs: array(o.dirs, '.dirs').map((d, i) => under(d, `.dirs[${i}]`)),
      config: string(o.config, '.config'),
      stateDir: o.stateDir === null ? null : string(o.stateDir, '.stateDir'),
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
