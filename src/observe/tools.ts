import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Programs not found as executables in PATH — where the runner (execa) will look for them; without
 * a PATH, where execvp looks (/usr/bin:/bin).
 */
export function missingTools(names: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = (env.PATH ?? '/usr/bin:/bin').split(delimiter).filter(Boolean);
  return names.filter(
    (name) =>
      !dirs.some((dir) => {
        try {
          accessSync(join(dir, name), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
}
