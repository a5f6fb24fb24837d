import { statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The first directory on the way to `path` that other users cannot traverse, or null.
 * dnsmasq drops to 'nobody' and re-reads its hostsfile as that user on SIGHUP: behind such
 * a directory every reservation silently vanishes.
 */
export function firstUnsearchableDir(path: string): string | null {
  let found: string | null = null;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) found = dir;
    } catch {
      // not created yet: mkdir makes it 0755
    }
    if (dir === dirname(dir)) return found;
  }
}
