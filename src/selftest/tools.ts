import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** What the selftest runs besides the engine itself. */
export const SELFTEST_TOOLS = ['ip', 'ss', 'dnsmasq', 'udhcpc', 'socat', 'busybox', 'timeout'];

/** Tools not found on PATH (plus the sbin directories root usually has). */
export function missingTools(tools: string[], path = process.env.PATH ?? ''): string[] {
  const dirs = path.split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  const found = (t: string) =>
    dirs.some((d) => {
      try {
        accessSync(join(d, t), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const missing = tools.filter((t) => !found(t));
  if (!found('iptables') && !found('nft')) missing.push('iptables or nft');
  return missing;
}
