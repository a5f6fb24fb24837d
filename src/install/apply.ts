import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { NatnetError } from '../errors.js';
import { INSTALL_MANIFEST, runtimeVersionDir } from '../state/layout.js';
import { type InstalledFile, type Manifest, manifestPath, sha256, writeManifest } from './manifest.js';
import { type InstallFile, neededDirs } from './plan.js';
import { HOOK_MARKER } from './render.js';
import { insideRoot } from './root-path.js';
import { removeLink, removeRuntimeDir, type RuntimeResult } from './runtime.js';

export class InstallError extends NatnetError {}

/** One word per outcome, so a re-install tells "nothing to do" from "your edit was kept". */
export const OUTCOME = {
  installed: 'installed',
  updated: 'updated',
  unchanged: 'unchanged',
  edited: 'kept (edited by admin)',
  config: 'kept (your config)',
  stale: 'removed (no longer installed)',
} as const;

export interface InstallReport {
  /** "<outcome> <absolute path>" lines, in order. */
  lines: string[];
  warnings: string[];
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

type Action = 'installed' | 'updated' | 'unchanged' | 'edited' | 'config';

/**
 * Write the files, refusing up front (nothing written) when one would replace something that is
 * not ours. An existing config is never touched; a file of ours the admin edited is kept; a file
 * an older install wrote that this one no longer does is removed (when unedited).
 */
export function applyInstall(
  root: string,
  files: InstallFile[],
  old: Manifest | null,
  /** Runs once nothing is in the way, before the files are written (installRuntime). */
  installRuntimeStep: () => RuntimeResult,
  meta: { config: string; stateDir: string | null },
): InstallReport {
  const recorded = new Map((old?.files ?? []).map((f) => [f.path, f]));
  const report: InstallReport = { lines: [], warnings: [] };
  const plan: { file: InstallFile; action: Action }[] = [];
  for (const file of files) {
    const path = join(root, file.path);
    const current = readOrNull(path);
    const mine = recorded.get(file.path);
    if (current === null) plan.push({ file, action: 'installed' });
    else if (current === file.content) plan.push({ file, action: 'unchanged' });
    else if (file.kind === 'config') plan.push({ file, action: 'config' });
    else if (mine && sha256(current) === mine.sha256) plan.push({ file, action: 'updated' });
    else if (file.kind === 'hook' && !mine && current.includes(HOOK_MARKER)) plan.push({ file, action: 'updated' });
    else if (mine) plan.push({ file, action: 'edited' });
    else throw new InstallError(`${path}: exists and is not natnet-hook's; not overwriting it (move it away, then install again)`);
  }
  const runtime = installRuntimeStep();
  report.lines.push(...runtime.lines);
  const dirs = neededDirs([...files.map((f) => f.path), INSTALL_MANIFEST]).filter((d) => !existsSync(join(root, d)));
  for (const d of dirs) mkdirSync(join(root, d), { mode: 0o755 });
  const installed: InstalledFile[] = [];
  for (const { file, action } of plan) {
    const path = join(root, file.path);
    if (action === 'installed' || action === 'updated') {
      writeFileAtomic(path, file.content, file.mode);
      chmodSync(path, file.mode);
    }
    report.lines.push(`${OUTCOME[action]} ${path}`);
    if (action === 'edited') report.warnings.push(`${path}: changed since it was installed; kept as it is (move it away and install again for the new one)`);
    // an existing config was the admin's: never record it (uninstall must not remove it)
    const ours = action === 'installed' || action === 'updated' || recorded.has(file.path) || (action === 'unchanged' && file.kind !== 'config');
    if (ours) installed.push({ path: file.path, kind: file.kind, sha256: sha256(readOrNull(path) ?? '') });
  }
  const planned = new Set(files.map((f) => f.path));
  for (const f of old?.files ?? []) {
    if (planned.has(f.path)) continue;
    const path = insideRoot(root, f.path);
    const current = path === null ? null : readOrNull(path);
    if (path !== null && current !== null && f.kind !== 'config' && sha256(current) === f.sha256) {
      unlinkSync(path);
      report.lines.push(`${OUTCOME.stale} ${path}`);
    }
  }
  const manifest: Manifest = {
    version: 2,
    files: installed,
    links: runtime.links,
    runtimes: runtime.runtimes,
    dirs: [...new Set([...(old?.dirs ?? []), ...runtime.dirs, ...dirs])],
    config: meta.config,
    stateDir: meta.stateDir,
  };
  writeManifest(root, manifest);
  return report;
}

export interface UninstallReport {
  removed: string[];
  kept: string[];
}

/**
 * Remove exactly what the manifest lists (the config only with purge): files, links and version
 * dirs, then our empty directories. The manifest is untrusted: every path is relative and
 * normalised (manifest.ts), and is removed only while its directory really lies inside the root.
 */
export function applyUninstall(root: string, m: Manifest, purge: boolean): UninstallReport {
  const report: UninstallReport = { removed: [], kept: [] };
  for (const f of m.files) {
    const path = insideRoot(root, f.path);
    if (path === null) {
      if (existsSync(join(root, f.path))) report.kept.push(`${join(root, f.path)} (its directory leads out of ${root}; not removed)`);
      continue;
    }
    const current = readOrNull(path);
    if (current === null) continue;
    if (f.kind === 'config' && !purge) report.kept.push(`${path} (your config; --purge removes it)`);
    else if (f.kind !== 'config' && sha256(current) !== f.sha256) report.kept.push(`${path} (changed since install)`);
    else {
      unlinkSync(path);
      report.removed.push(path);
    }
  }
  for (const l of m.links) if (removeLink(root, l)) report.removed.push(join(root, l.path));
  for (const v of m.runtimes) if (removeRuntimeDir(root, v)) report.removed.push(`${join(root, runtimeVersionDir(v))}/`);
  try {
    unlinkSync(manifestPath(root));
    report.removed.push(manifestPath(root));
  } catch {
    // already gone
  }
  for (const d of [...m.dirs].sort((a, b) => b.length - a.length)) {
    const path = insideRoot(root, d);
    if (path === null) continue;
    try {
      rmdirSync(path);
      report.removed.push(`${path}/`);
    } catch {
      // not empty (someone else's files) or gone
    }
  }
  return report;
}
