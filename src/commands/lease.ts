import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { withLock } from '../apply/lock.js';
import { leaseFiles, loadConfig } from '../config/load.js';
import { normaliseLease } from '../config/lease.js';
import { Problems } from '../config/problems.js';
import { networkOfIp } from '../config/validate.js';
import { domainFileName } from '../engine/domains.js';
import type { Context } from '../engine/context.js';
import { appliedNetworks, upLocked, validateBeforeFirstLock } from '../engine/index.js';
import { ConfigError, UsageError } from '../errors.js';
import type { Lease } from '../model/types.js';
import { renderLeaseFile } from '../render/lease-file.js';
import { parseLeaseFile } from '../config/parse.js';
import { readFileSync } from 'node:fs';

/** leases.d/<vm>.toml; the name is encoded so any libvirt VM name is a safe file name. */
export function leaseFileFor(ctx: Context, vm: string): string {
  return join(ctx.leasesDir, domainFileName(vm).replace(/\.json$/, '.toml'));
}

/** Re-apply live to networks that are up (hostsfile + SIGHUP); networks that are down stay down. */
async function applyLive(ctx: Context, config: ReturnType<typeof loadConfig>, lease: Pick<Lease, 'ip'>) {
  const net = networkOfIp(config.networks, lease.ip);
  if (net && appliedNetworks(ctx).includes(net.name)) {
    await upLocked(ctx, config, { networks: [net.name], reason: 'lease change' });
  }
}

export async function runLeaseAdd(ctx: Context, vm: string, ip: string, o: { mac?: string[]; hostname?: string }): Promise<void> {
  const file = leaseFileFor(ctx, vm);
  const raw: Record<string, unknown> = { vm, ip };
  if (o.mac?.length) raw.mac = o.mac;
  if (o.hostname !== undefined) raw.hostname = o.hostname;
  const p = new Problems('command line');
  const lease = normaliseLease(raw, '', p);
  if (!lease) throw new ConfigError(p.list);
  lease.source = { file, field: '' };
  validateBeforeFirstLock(ctx, { leaseFileOverride: { file, leases: [lease] } });
  await withLock(ctx.runDir, async () => {
    // validated against everything else BEFORE anything is written
    const config = loadConfig(ctx, { leaseFileOverride: { file, leases: [lease] } });
    if (!ctx.dryRun) writeFileAtomic(file, renderLeaseFile(lease), 0o644);
    await applyLive(ctx, config, lease);
  });
  process.stdout.write(`${vm}: ${ip}${lease.macs.length ? ` (${lease.macs.join(', ')})` : ''} reserved in ${file}\n`);
}

export async function runLeaseRm(ctx: Context, vm: string): Promise<void> {
  const file = leaseFileFor(ctx, vm);
  await withLock(ctx.runDir, async () => {
    let old: Lease[];
    try {
      old = parseLeaseFile(readFileSync(file, 'utf8'), new Problems(file));
    } catch {
      throw new UsageError(`no lease file for VM ${JSON.stringify(vm)} (${file}); leases in config.toml are edited there`);
    }
    const config = loadConfig(ctx, { leaseFileOverride: { file, leases: null } });
    if (!ctx.dryRun) unlinkSync(file);
    for (const l of old) await applyLive(ctx, config, l);
  });
  process.stdout.write(`${vm}: reservation removed (${file})\n`);
}

export async function runLeaseList(ctx: Context, o: { json?: boolean }): Promise<void> {
  const config = loadConfig(ctx);
  const rows = config.leases.map((l) => ({
    vm: l.vm,
    ip: l.ip,
    macs: l.macs,
    hostname: l.hostname,
    network: networkOfIp(config.networks, l.ip)?.name ?? null,
    source: l.source.field ? `${l.source.file} ${l.source.field}` : l.source.file,
  }));
  if (o.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) process.stdout.write(`no reservations (files: ${leaseFiles(ctx.leasesDir).length} in ${ctx.leasesDir})\n`);
  for (const r of rows) {
    process.stdout.write(`${r.vm}\t${r.ip}\t${r.macs.join(',') || '(MACs from libvirt)'}\t${r.hostname ?? ''}\t${r.network ?? '?'}\t${r.source}\n`);
  }
}
