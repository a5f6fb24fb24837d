import type { Runner } from '../sys/runner.js';

/** libvirt runs hooks from qemu.d/ and network.d/ since 6.5.0; before that only the single main script. */
export const MIN_HOOK_DIRS = [6, 5, 0] as const;

/** "libvirtd (libvirt) 9.0.0" → [9, 0, 0]; null when unrecognised. */
export function parseLibvirtVersion(text: string): number[] | null {
  const m = /\(libvirt\)\s+(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function supportsHookDirs(v: number[]): boolean {
  for (let i = 0; i < 3; i++) if (v[i] !== MIN_HOOK_DIRS[i]) return v[i] > MIN_HOOK_DIRS[i];
  return true;
}

/** The installed libvirt daemon's version (monolithic or modular), or null when none is installed. */
export async function installedLibvirtVersion(runner: Runner): Promise<number[] | null> {
  for (const daemon of ['libvirtd', 'virtqemud']) {
    const r = await runner.run([daemon, '--version'], { readOnly: true, allowFailure: true });
    const v = r.code === 0 ? parseLibvirtVersion(r.stdout) : null;
    if (v) return v;
  }
  return null;
}
