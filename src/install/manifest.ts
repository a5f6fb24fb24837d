import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { INSTALL_MANIFEST } from '../state/layout.js';

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

export function readManifest(root: string): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(manifestPath(root), 'utf8')) as Manifest;
    return m.version === 1 && Array.isArray(m.files) ? m : null;
  } catch {
    return null;
  }
}

export function writeManifest(root: string, m: Manifest): void {
  writeFileAtomic(manifestPath(root), `${JSON.stringify(m, null, 2)}\n`, 0o644);
}
