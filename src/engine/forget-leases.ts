import { lstatSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { executeStep } from '../apply/execute.js';
import type { Network } from '../model/types.js';
import { normaliseMac } from '../net/mac.js';
import { scanOurDnsmasq } from '../observe/procfs.js';
import { dnsmasqPaths } from '../state/layout.js';
import type { Context } from './context.js';

/**
 * A dnsmasq lease file without the leases of these MACs: every other line (other leases, the
 * duid line, lines we do not understand) is kept exactly as dnsmasq wrote it. Pure.
 */
export function leaseFileWithout(text: string, macs: ReadonlySet<string>): { text: string; dropped: { mac: string; ip: string }[] } {
  const dropped: { mac: string; ip: string }[] = [];
  const kept = text.split('\n').filter((line) => {
    const f = line.trim().split(/\s+/);
    const mac = f.length >= 4 ? normaliseMac(f[1]) : null;
    if (mac === null || !macs.has(mac)) return true;
    dropped.push({ mac, ip: f[2] });
    return false;
  });
  return { text: kept.join('\n'), dropped };
}

/**
 * Drops the leases of these MACs (a VM that migrated to another host) from a network's lease
 * database, so that dnsmasq here does not keep its address from a later VM ("not using
 * configured address ... because it is leased to ..."). dnsmasq owns that file and reads it
 * only when it starts, rewriting it from memory on every change: it is stopped first (by pid,
 * only our own), the file is rewritten atomically, and the caller's apply starts dnsmasq again.
 * A DHCPRELEASE would spare the restart but needs a socket bound to the bridge
 * (SO_BINDTODEVICE: dnsmasq-utils' dhcp_release), which Node cannot open. Under the engine lock.
 */
export async function forgetLeases(ctx: Context, net: Pick<Network, 'name'>, macs: readonly string[]): Promise<string[]> {
  const paths = dnsmasqPaths(ctx, net.name);
  let text: string;
  let mode = 0o644;
  try {
    // never through a symlink: what is read here is written back over the lease file
    const st = lstatSync(paths.leases);
    if (!st.isFile()) return [];
    mode = st.mode & 0o777;
    text = readFileSync(paths.leases, 'utf8');
  } catch {
    return [];
  }
  const out = leaseFileWithout(text, new Set(macs));
  if (out.dropped.length === 0) return [];
  const actions = out.dropped.map((d) => `forget dnsmasq lease ${d.ip} of ${d.mac} (its VM left this host)`);
  if (ctx.dryRun) return actions;
  for (const pid of scanOurDnsmasq(paths.conf)) {
    await executeStep(ctx, { kind: 'dnsmasq-stop', why: `stop dnsmasq of ${net.name} to edit its lease file`, pid, conf: paths.conf });
  }
  writeFileAtomic(paths.leases, out.text, mode);
  return actions;
}
