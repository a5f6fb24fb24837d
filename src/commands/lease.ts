import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { withEngineLock } from '../state/lock.js';
import { leaseFiles, loadConfig } from '../config/load.js';
import { normaliseLease, normaliseVmName } from '../config/lease.js';
import { Problems } from '../config/problems.js';
import { networkOfIp } from '../config/validate.js';
import { fileStem } from '../state/layout.js';
import type { Context } from '../engine/context.js';
import { appliedNetworks, upLocked, validateBeforeFirstLock } from '../engine/index.js';
import { ConfigError, UsageError } from '../errors.js';
import type { Lease } from '../model/types.js';
import type { Forward } from '../model/forward.js';
import { renderLeaseFile, renderVmFile } from '../render/lease-file.js';
import { parseVmFile } from '../config/parse.js';
import { type ReservationRow, renderReservationsTable } from '../render/leases-table.js';
import { readText } from '../config/read-text.js';
import { assertRootIfApplied } from './need-root.js';

/** leases.d/<vm>.toml; the name is encoded so any libvirt VM name is a safe file name. */
export function leaseFileFor(ctx: Context, vm: string): string {
  return join(ctx.leasesDir, `${fileStem(vm)}.toml`);
}

/** Re-apply live to networks that are up (hostsfile + SIGHUP); networks that are down stay down. */
async function applyLive(ctx: Context, config: ReturnType<typeof loadConfig>, lease: Pick<Lease, 'ip'>) {
  const net = networkOfIp(config.networks, lease.ip);
  if (net && appliedNetworks(ctx).includes(net.name)) {
    await upLocked(ctx, config, { networks: [net.name], reason: 'lease change' });
  }
}

export async function runLeaseAdd(ctx: Context, vmGiven: string, ip: string, o: { mac?: string[]; hostname?: string; ip6?: string }): Promise<void> {
  const vm = normaliseVmName(vmGiven);
  if (!ctx.dryRun) assertRootIfApplied(ctx, 'lease add');
  // replaces the VM's existing file, also a hand-written <vm>.toml (any other file of the
  // same VM makes validation name both)
  const file = ownLeaseFile(ctx, vm) ?? leaseFileFor(ctx, vm);
  const raw: Record<string, unknown> = { vm, ip };
  if (o.mac?.length) raw.mac = o.mac;
  if (o.hostname !== undefined) raw.hostname = o.hostname;
  if (o.ip6 !== undefined) raw.ip6 = o.ip6;
  const p = new Problems('command line');
  const lease = normaliseLease(raw, '', p);
  if (!lease) throw new ConfigError(p.list);
  lease.source = { file, field: '' };
  // the file's port forwards stay (they target this reservation)
  const forwards = readVmFile(file).forwards;
  validateBeforeFirstLock(ctx, { leaseFileOverride: { file, leases: [lease], forwards } });
  await withEngineLock(ctx, async () => {
    // validated against everything else BEFORE anything is written
    const config = loadConfig(ctx, { leaseFileOverride: { file, leases: [lease], forwards } });
    const replaced = readLeaseFile(file);
    if (!ctx.dryRun) {
      // 0755 whatever the umask: a group-writable leases.d would be refused next time (state/trust.ts)
      mkdirSync(ctx.leasesDir, { recursive: true, mode: 0o755 });
      writeFileAtomic(file, forwards.length ? renderVmFile([lease], forwards) : renderLeaseFile(lease), 0o644);
    }
    // the network the VM's old address was in (another one if it moved) and the new one
    for (const l of [...replaced, lease]) await applyLive(ctx, config, l);
  });
  const addresses = lease.ip6 ? `${ip} and ${lease.ip6}` : ip;
  process.stdout.write(`${vm}: ${addresses}${lease.macs.length ? ` (${lease.macs.join(', ')})` : ''} reserved in ${file}\n`);
}

/** The leases in one file; [] when it is absent or unusable (loadConfig reports why). Never blocks on a FIFO. */
function readLeaseFile(file: string): Lease[] {
  return readVmFile(file).leases;
}

/** The leases and forwards in one leases.d file; none when it is absent or unusable. Never blocks on a FIFO. */
export function readVmFile(file: string): { leases: Lease[]; forwards: Forward[] } {
  try {
    return parseVmFile(readText(file) ?? '', new Problems(file));
  } catch {
    return { leases: [], forwards: [] };
  }
}

/** `lease add`'s own file for the VM, or a hand-written `<vm>.toml` holding only this VM's leases. Cheap: two files. */
export function ownLeaseFile(ctx: Context, vm: string): string | null {
  const own = leaseFileFor(ctx, vm);
  if (readLeaseFile(own).length) return own;
  const plain = join(ctx.leasesDir, `${vm}.toml`);
  const leases = vm.includes('/') ? [] : readLeaseFile(plain);
  return leases.length > 0 && leases.every((l) => l.vm === vm) ? plain : null;
}

/** Any leases.d file whose leases are all this VM's (reads every file: for `lease rm` only). */
function findLeaseFile(ctx: Context, vm: string): string | null {
  return (
    ownLeaseFile(ctx, vm) ??
    leaseFiles(ctx.leasesDir).find((f) => {
      const leases = readLeaseFile(f);
      return leases.length > 0 && leases.every((l) => l.vm === vm);
    }) ??
    null
  );
}

export async function runLeaseRm(ctx: Context, vmGiven: string): Promise<void> {
  const vm = normaliseVmName(vmGiven);
  if (!ctx.dryRun) assertRootIfApplied(ctx, 'lease rm');
  let file = leaseFileFor(ctx, vm);
  let forwards = 0;
  await withEngineLock(ctx, async () => {
    const found = findLeaseFile(ctx, vm);
    if (!found) {
      throw new UsageError(`no leases.d file for VM ${JSON.stringify(vm)} in ${ctx.leasesDir}; leases in config.toml are edited there`);
    }
    file = found;
    const old = readLeaseFile(file);
    // the file's port forwards target this reservation: they go with it
    forwards = readVmFile(file).forwards.length;
    const config = loadConfig(ctx, { leaseFileOverride: { file, leases: null } });
    if (!ctx.dryRun) unlinkSync(file);
    for (const l of old) await applyLive(ctx, config, l);
  });
  process.stdout.write(`${vm}: reservation ${forwards ? `and ${forwards} port forward(s) ` : ''}removed (${file})\n`);
}

export async function runLeaseList(ctx: Context, o: { json?: boolean }): Promise<void> {
  const config = loadConfig(ctx);
  const rows: ReservationRow[] = config.leases.map((l) => ({
    vm: l.vm,
    ip: l.ip,
    ip6: l.ip6,
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
  else process.stdout.write(renderReservationsTable(rows));
}
