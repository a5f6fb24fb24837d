import { realpathSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * `<root>/<rel>` when the directory holding it really lies inside the root (after symlinks), so
 * a symlinked directory on the way cannot carry a removal out of the root; null otherwise (also
 * when the directory is gone). `rel` is already validated as normalised and without `..`.
 */
export function insideRoot(root: string, rel: string): string | null {
  const path = join(root, rel);
  try {
    const base = realpathSync(root);
    const parent = realpathSync(dirname(path));
    const r = relative(base, parent);
    return r.startsWith('..') || r.startsWith('/') ? null : path;
  } catch {
    return null;
  }
}
