/**
 * The installed program: a copy of the runtime natnet-hook runs from, in
 * <root>/usr/lib/natnet-hook/<version>/, and the `current` symlink the hooks, the unit and
 * /usr/sbin/natnet-hook go through. Nothing installed names the checkout or npm prefix it came
 * from, so moving or deleting that breaks nothing.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { NatnetError } from '../errors.js';
import { CURRENT_BIN, RUNTIME_CURRENT, RUNTIME_DIR, runtimeVersionDir, SBIN_LINK } from '../state/layout.js';
import type { InstalledLink, Manifest } from './manifest.js';
import { insideRoot } from './root-path.js';

export class RuntimeError extends NatnetError {}

/**
 * What runs, relative to the app dir: the bundles (dist/fast needs no node_modules), the bin and
 * hook shims and the templates install renders. package.json's `files` lists the same (unit test).
 * dist/share (man page, completions) is there when the build made it.
 */
export const RUNTIME_ENTRIES = [
  'package.json',
  'bin',
  'dist/fast',
  'dist/share',
  'hooks/qemu',
  'hooks/network',
  'hooks/package.json',
  'install/config.toml',
  'install/systemd',
  'install/modprobe.d',
  'install/modules-load.d',
  'install/sysctl.d',
] as const;
const OPTIONAL_ENTRIES: readonly string[] = ['dist/share'];
const BIN = 'bin/natnet-hook';

interface RuntimeFile {
  rel: string;
  content: Buffer;
  mode: number;
}

function walk(base: string, rel: string, out: string[]): void {
  const abs = join(base, rel);
  const st = lstatSync(abs);
  if (st.isDirectory()) for (const n of readdirSync(abs).sort()) walk(base, `${rel}/${n}`, out);
  else if (st.isFile()) out.push(rel);
}

/** The runtime files of appDir, bin/natnet-hook with node's absolute path in its #! line (root's PATH may not reach it). */
export function runtimeFiles(appDir: string, node: string): RuntimeFile[] {
  const rels: string[] = [];
  for (const e of RUNTIME_ENTRIES) {
    if (!existsSync(join(appDir, e))) {
      if (OPTIONAL_ENTRIES.includes(e)) continue;
      throw new RuntimeError(`${join(appDir, e)} is missing: natnet-hook is not built there (run npm run build), nothing installed`);
    }
    walk(appDir, e, rels);
  }
  return rels.sort().map((rel) => {
    const abs = join(appDir, rel);
    let content = readFileSync(abs);
    if (rel === BIN) content = Buffer.from(content.toString('utf8').replace(/^#!.*/, `#!${node}`));
    return { rel, content, mode: lstatSync(abs).mode & 0o777 };
  });
}

function digest(files: { rel: string; content: Buffer; mode: number }[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.rel}\0${f.mode & 0o111 ? 'x' : '-'}\0${f.content.length}\0`).update(f.content);
  return h.digest('hex');
}

/** What is in an installed version dir, in the same form. */
function installedFiles(dir: string): RuntimeFile[] {
  const rels: string[] = [];
  for (const n of readdirSync(dir).sort()) walk(dir, n, rels);
  return rels.sort().map((rel) => ({ rel, content: readFileSync(join(dir, rel)), mode: lstatSync(join(dir, rel)).mode & 0o777 }));
}

function writeTree(dir: string, files: RuntimeFile[]): void {
  mkdirSync(dir, { mode: 0o755 });
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.rel)), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, f.rel), f.content, { mode: f.mode });
    chmodSync(join(dir, f.rel), f.mode);
  }
}

function linkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}

/** Point the symlink `path` at `target` by rename over it: a reader sees the old or the new target, never none. */
function switchLink(path: string, target: string): void {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.link.tmp`);
  symlinkSync(target, tmp);
  renameSync(tmp, path);
}

export interface RuntimeResult {
  lines: string[];
  /** For the manifest: the version dirs and links install owns now. */
  runtimes: string[];
  links: InstalledLink[];
  /** Directories created on the way, relative to the root. */
  dirs: string[];
}

function ensureDir(root: string, rel: string, made: string[]): void {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const d = parts.slice(0, i).join('/');
    if (!existsSync(join(root, d))) {
      mkdirSync(join(root, d), { mode: 0o755 });
      made.push(d);
    }
  }
}

/**
 * Copy the runtime to <root>/usr/lib/natnet-hook/<version>/ (staged, then renamed in), switch
 * `current` to it, make /usr/sbin/natnet-hook point through `current`. The version `current`
 * named before stays (a hook or listener started from it may still load its lazily loaded
 * bundles); versions before that which install copied are removed. A version dir natnet-hook
 * runs from (a package installed it) is used in place and left to its owner.
 */
export function installRuntime(root: string, appDir: string, version: string, node: string, old: Manifest | null): RuntimeResult {
  const r: RuntimeResult = { lines: [], runtimes: [], links: [], dirs: [] };
  const rel = runtimeVersionDir(version);
  const dir = join(root, rel);
  const current = join(root, RUNTIME_CURRENT);
  const sbin = join(root, SBIN_LINK);
  const oldLinks = new Map((old?.links ?? []).map((l) => [l.path, l.target]));
  const sbinTarget = relative(dirname(sbin), join(root, CURRENT_BIN));
  // refuse before anything is written
  const currentNow = linkTarget(current);
  if (existsSync(current) && currentNow === null) throw new RuntimeError(`${current}: exists and is not a symlink natnet-hook made; not replacing it (move it away, then install again)`);
  const sbinNow = linkTarget(sbin);
  if ((sbinNow !== null || existsSync(sbin)) && sbinNow !== sbinTarget && !oldLinks.has(SBIN_LINK)) {
    throw new RuntimeError(`${sbin}: exists and is not natnet-hook's; not replacing it (move it away, then install again)`);
  }
  if (existsSync(dir) && !lstatSync(dir).isDirectory()) throw new RuntimeError(`${dir}: exists and is not a directory; not replacing it`);

  const inPlace = existsSync(dir) && realpathSync(dir) === realpathSync(appDir);
  ensureDir(root, RUNTIME_DIR, r.dirs);
  if (inPlace) {
    r.lines.push(`runtime ${dir}: in place (natnet-hook runs from it)`);
  } else {
    const files = runtimeFiles(appDir, node);
    const stage = join(root, RUNTIME_DIR, `.${version}.${process.pid}.tmp`);
    const ours = (old?.runtimes ?? []).includes(version);
    const from = appDir.replace(/\/+$/, '');
    if (!existsSync(dir)) {
      rmSync(stage, { recursive: true, force: true });
      writeTree(stage, files);
      renameSync(stage, dir);
      r.lines.push(`installed ${dir} (from ${from})`);
      r.runtimes.push(version);
    } else if (digest(installedFiles(dir)) === digest(files)) {
      r.lines.push(`unchanged ${dir}`);
      // an identical copy someone else made (a package) stays theirs
      if (ours) r.runtimes.push(version);
    } else if (!ours) {
      throw new RuntimeError(`${dir}: exists, differs from ${from} and was not put there by natnet-hook install (a package's?); not replacing it (install that version's package, or move it away)`);
    } else {
      // same version, other content (a rebuild): `current` never names a missing dir on the way
      rmSync(stage, { recursive: true, force: true });
      writeTree(stage, files);
      if (currentNow === version) switchLink(current, relative(dirname(current), stage));
      const aside = `${stage}.old`;
      renameSync(dir, aside);
      renameSync(stage, dir);
      if (currentNow === version) switchLink(current, version);
      rmSync(aside, { recursive: true, force: true });
      r.lines.push(`updated ${dir} (from ${from})`);
      r.runtimes.push(version);
    }
  }

  if (currentNow !== version) {
    switchLink(current, version);
    r.lines.push(`switched ${current} -> ${version}${currentNow ? ` (was ${currentNow})` : ''}`);
  }
  if (currentNow !== version || oldLinks.has(RUNTIME_CURRENT)) r.links.push({ path: RUNTIME_CURRENT, target: version });

  ensureDir(root, dirname(SBIN_LINK), r.dirs);
  if (sbinNow !== sbinTarget) {
    switchLink(sbin, sbinTarget);
    r.lines.push(`installed ${sbin} -> ${sbinTarget}`);
  }
  if (sbinNow !== sbinTarget || oldLinks.has(SBIN_LINK)) r.links.push({ path: SBIN_LINK, target: sbinTarget });

  // keep the one `current` named before; remove older versions install itself copied
  const previous = currentNow !== null && currentNow !== version ? currentNow : null;
  for (const v of old?.runtimes ?? []) {
    if (v === version) continue;
    if (v === previous) {
      r.runtimes.push(v);
      r.lines.push(`kept ${join(root, runtimeVersionDir(v))} (the previous version, removed by the next upgrade)`);
    } else if (removeRuntimeDir(root, v)) r.lines.push(`removed ${join(root, runtimeVersionDir(v))}`);
  }
  return r;
}

/** Remove one recorded version dir: only a real directory inside the root, never what a symlink points at. */
export function removeRuntimeDir(root: string, version: string): boolean {
  const path = insideRoot(root, runtimeVersionDir(version));
  if (!path || !existsSync(path) || !lstatSync(path).isDirectory()) return false;
  rmSync(path, { recursive: true, force: true });
  return true;
}

/** Remove a recorded link while it still points where install made it point. */
export function removeLink(root: string, link: InstalledLink): boolean {
  const path = insideRoot(root, link.path);
  if (!path || linkTarget(path) !== link.target) return false;
  rmSync(path, { force: true });
  return true;
}
