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

/** The Debian package that installs each program natnet-hook runs. */
const DEBIAN_PACKAGES: [RegExp, string][] = [
  [/^dnsmasq$/, 'dnsmasq-base'],
  [/^(ip|ss|bridge)$/, 'iproute2'],
  [/^(iptables|ip6tables)(-(nft|legacy))?(-(save|restore))?$/, 'iptables'],
  [/^nft$/, 'nftables'],
];

/** The Debian package providing a program, or null for one natnet-hook does not know. */
export function debianPackageOf(tool: string): string | null {
  return DEBIAN_PACKAGES.find(([re]) => re.test(tool))?.[1] ?? null;
}

/** "apt install <package>", or the generic advice for a program of unknown origin. */
export function installHint(tool: string): string {
  const pkg = debianPackageOf(tool);
  return pkg ? `install the package that provides it: apt install ${pkg}` : 'install the package that provides it';
}
