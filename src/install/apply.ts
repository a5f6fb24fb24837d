import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { NatnetError } from '../errors.js';
import { type InstalledFile, type Manifest, manifestPath, readManifest, sha256, writeManifest } from './manifest.js';
import { type InstallFile, neededDirs } from './plan.js';
import { HOOK_MARKER } from './render.js';

export class InstallError extends NatnetError {}

export interface InstallReport {
  written: string[];
  kept: string[];
  warnings: string[];
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Write the files, refusing up front (nothing written) when one would replace something that is
 * not ours. An existing config is never touched; a file of ours the admin edited is kept.
 */
export function applyInstall(root: string, files: InstallFile[], meta: { config: string; stateDir: string | null }): InstallReport {
  const old = readManifest(root);
  const recorded = new Map((old?.files ?? []).map((f) => [f.path, f]));
  const report: InstallReport = { written: [], kept: [], warnings: [] };
  const plan: { file: InstallFile; action: 'write' | 'keep' }[] = [];
  for (const file of files) {
    const current = readOrNull(file.path);
    const mine = recorded.get(file.path);
    if (current === null || current === file.content) plan.push({ file, action: current === null ? 'write' : 'keep' });
    else if (file.kind === 'config') plan.push({ file, action: 'keep' });
    else if (mine && sha256(current) === mine.sha256) plan.push({ file, action: 'write' });
    else if (file.kind === 'hook' && !mine && current.includes(HOOK_MARKER)) plan.push({ file, action: 'write' });
    else if (mine) {
      report.warnings.push(`${file.path}: changed since it was installed; kept as it is`);
      plan.push({ file, action: 'keep' });
    } else {
      throw new InstallError(`${file.path}: exists and is not natnet-hook's; not overwriting it (move it away, then install again)`);
    }
  }
  const dirs = neededDirs([...files, { path: manifestPath(root), content: '', mode: 0o644, kind: 'system' }]).filter((d) => !existsSync(d));
  for (const d of dirs) mkdirSync(d, { mode: 0o755 });
  const installed: InstalledFile[] = [];
  for (const { file, action } of plan) {
    const wasOurs = recorded.has(file.path);
    if (action === 'write') {
      writeFileAtomic(file.path, file.content, file.mode);
      chmodSync(file.path, file.mode);
      report.written.push(file.path);
    } else report.kept.push(file.path);
    // an existing config was the admin's: never record it (uninstall must not remove it)
    const ours = action === 'write' || wasOurs || (file.kind !== 'config' && readOrNull(file.path) === file.content);
    if (ours) installed.push({ path: file.path, kind: file.kind, sha256: sha256(readOrNull(file.path) ?? '') });
  }
  const manifest: Manifest = {
    version: 1,
    files: installed,
    dirs: [...new Set([...(old?.dirs ?? []), ...dirs])],
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

/** Remove exactly what the manifest lists (the config only with purge), then our empty directories. */
export function applyUninstall(m: Manifest, purge: boolean, manifestFile: string): UninstallReport {
  const report: UninstallReport = { removed: [], kept: [] };
  for (const f of m.files) {
    const current = readOrNull(f.path);
    if (current === null) continue;
    if (f.kind === 'config' && !purge) report.kept.push(`${f.path} (your config; --purge removes it)`);
    else if (f.kind !== 'config' && sha256(current) !== f.sha256) report.kept.push(`${f.path} (changed since install)`);
    else {
      unlinkSync(f.path);
      report.removed.push(f.path);
    }
  }
  try {
    unlinkSync(manifestFile);
    report.removed.push(manifestFile);
  } catch {
    // already gone
  }
  for (const d of [...m.dirs].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(d);
      report.removed.push(`${d}/`);
    } catch {
      // not empty (someone else's files) or gone
    }
  }
  return report;
}
