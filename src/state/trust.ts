/**
 * natnet-hook runs as root and acts on what it reads: the config names interfaces and addresses,
 * the state names what to remove. A directory another user can write to (owned by them, or
 * group/world-writable) would let that user decide what root does, so such directories are
 * refused. Only the directories themselves are checked, not their parents.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UnsafeDirError } from '../errors.js';
import type { Layout } from './layout.js';

/** Set to 1 to skip the check (tests in directories they do not own; never on a real host). */
export const ALLOW_UNSAFE_DIRS_ENV = 'NATNET_HOOK_ALLOW_UNSAFE_DIRS';

/** The config side (config directory, leases.d) and the state directories of a layout. */
export function trustedDirs(l: Layout): string[] {
  return [dirname(l.configPath), l.leasesDir, l.runDir, l.libDir, l.logDir];
}

/**
 * Why one directory is not safe to trust, or null (also when it does not exist: it gets created
 * 0755 by root). Owned by root, or by the user running natnet-hook (so an unprivileged run, as
 * in development, can use its own directories; as root that is root again).
 */
export function dirProblem(dir: string, euid: number): string | null {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // absent, also below a file: creating it will fail and say so
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    return `${dir}: cannot check who owns it (${code ?? String(e)})`;
  }
  if (!st.isDirectory()) return `${dir}: expected a directory; remove it or point natnet-hook elsewhere`;
  const foreign = st.uid !== 0 && st.uid !== euid;
  const writable = st.mode & 0o022;
  if (!foreign && !writable) return null;
  const what = [foreign ? `owned by uid ${st.uid}` : '', writable ? `writable by ${writable & 0o020 ? (writable & 0o002 ? 'group and others' : 'group') : 'others'}` : '']
    .filter(Boolean)
    .join(' and ');
  const fix = [foreign ? `chown root ${dir}` : '', writable ? `chmod go-w ${dir}` : ''].filter(Boolean).join(' && ');
  return `${dir}: ${what}, so another user could steer what natnet-hook does as root; fix: ${fix}`;
}

/**
 * Refuses (UnsafeDirError, exit 3, one line per directory) when a directory natnet-hook reads
 * config from or keeps state in is not safe; NATNET_HOOK_ALLOW_UNSAFE_DIRS=1 skips the check.
 */
export function assertTrustedDirs(l: Layout, env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.() ?? 0): void {
  if (env[ALLOW_UNSAFE_DIRS_ENV] === '1') return;
  const problems = [...new Set(trustedDirs(l))].map((d) => dirProblem(d, euid)).filter((p) => p !== null);
  if (problems.length > 0) throw new UnsafeDirError(problems.join('\n'));
}
