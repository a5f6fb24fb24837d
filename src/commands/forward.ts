import { unlinkSync, mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { describeForward, normaliseForward, parsePorts, formatPorts, splitPortProto } from '../config/forward.js';
import { normaliseVmName } from '../config/lease.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import { Problems } from '../config/problems.js';
import { networkOfIp } from '../config/validate.js';
import type { Context } from '../engine/context.js';
import { appliedNetworks, upLocked, validateBeforeFirstLock } from '../engine/index.js';
import { ConfigError, UsageError } from '../errors.js';
import type { Forward } from '../model/forward.js';
import { renderVmFile } from '../render/lease-file.js';
import { withEngineLock } from '../state/lock.js';
import { leaseFileFor, ownLeaseFile, readVmFile } from './lease.js';

export interface ForwardAddOptions {
  to?: string;
  listen?: string;
  source?: string[];
  network?: string;
}

/** Networks that are up and hold a reservation of the VM: re-applied live (rules only change). */
async function applyLive(ctx: Context, config: LoadedConfig, vm: string): Promise<void> {
  const applied = appliedNetworks(ctx);
  const nets = [...new Set(config.leases.filter((l) => l.vm === vm).map((l) => networkOfIp(config.networks, l.ip)?.name))];
  const live = nets.filter((n): n is string => !!n && applied.includes(n));
  if (live.length) await upLocked(ctx, config, { networks: live, reason: 'forward change' });
}

/** Same host port and protocol (and listen address): `forward add` replaces it, `forward rm` removes it. */
function sameKey(a: Pick<Forward, 'proto' | 'port'>, b: Pick<Forward, 'proto' | 'port'>): boolean {
  return a.proto === b.proto && a.port === b.port;
}

/** Writes the VM's file (or removes it when nothing is left) and applies it, all under the engine lock. */
async function rewrite(ctx: Context, vm: string, file: string, forwards: Forward[]): Promise<void> {
  const { leases } = readVmFile(file);
  const override = { file, leases, forwards };
  validateBeforeFirstLock(ctx, { leaseFileOverride: override });
  await withEngineLock(ctx, async () => {
    // validated against everything else BEFORE anything is written
    const config = loadConfig(ctx, { leaseFileOverride: override });
    if (!ctx.dryRun) {
      mkdirSync(ctx.leasesDir, { recursive: true, mode: 0o755 });
      if (leases.length === 0 && forwards.length === 0) unlinkSync(file);
      else writeFileAtomic(file, renderVmFile(leases, forwards), 0o644);
    }
    await applyLive(ctx, config, vm);
  });
}

function vmFile(ctx: Context, vm: string): string {
  return ownLeaseFile(ctx, vm) ?? leaseFileFor(ctx, vm);
}

export async function runForwardAdd(ctx: Context, vmGiven: string, portProto: string, o: ForwardAddOptions): Promise<void> {
  const vm = normaliseVmName(vmGiven);
  const file = vmFile(ctx, vm);
  const { port, proto } = splitPortProto(portProto);
  const raw: Record<string, unknown> = { vm, port };
  if (proto !== null) raw.proto = proto;
  if (o.to !== undefined) raw.to_port = o.to;
  if (o.listen !== undefined) raw.listen = o.listen;
  if (o.source?.length) raw.source = o.source;
  if (o.network !== undefined) raw.network = o.network;
  const p = new Problems('command line');
  const fwd = normaliseForward(raw, '', p);
  if (!fwd) throw new ConfigError(p.list);
  const kept = readVmFile(file).forwards.filter((f) => f.vm !== vm || !sameKey(f, fwd));
  const forwards = [...kept, { ...fwd, origin: { file, field: `forward[${kept.length}]` } }];
  await rewrite(ctx, vm, file, forwards);
  process.stdout.write(`${vm}: ${describeForward(fwd)} forwarded${fwd.toPort ? ` to port ${fwd.toPort}` : ''} (${file})\n`);
}

export async function runForwardRm(ctx: Context, vmGiven: string, portProto: string): Promise<void> {
  const vm = normaliseVmName(vmGiven);
  const { port, proto } = splitPortProto(portProto);
  const ports = parsePorts(port);
  if (!ports || (proto !== null && proto !== 'tcp' && proto !== 'udp')) {
    throw new UsageError(`${JSON.stringify(portProto)} is not PORT[/tcp|/udp] (e.g. 8080, 8000-8010/udp)`);
  }
  const key = { proto: (proto ?? 'tcp') as Forward['proto'], port: formatPorts(ports) };
  const file = vmFile(ctx, vm);
  const { forwards } = readVmFile(file);
  const left = forwards.filter((f) => f.vm !== vm || !sameKey(f, key));
  if (left.length === forwards.length) {
    throw new UsageError(`no forward ${key.port}/${key.proto} of VM ${JSON.stringify(vm)} in ${file}; forwards in the config file are edited there (natnet-hook forward list)`);
  }
  await rewrite(ctx, vm, file, left);
  process.stdout.write(`${vm}: forward ${key.port}/${key.proto} removed (${file})\n`);
}

export async function runForwardList(ctx: Context, o: { json?: boolean }): Promise<void> {
  const config = loadConfig(ctx);
  const rows = config.forwards.map((f) => ({
    vm: f.vm,
    proto: f.proto,
    port: f.port,
    toPort: f.toPort,
    listen: f.listen,
    source: f.sources,
    network: f.network,
    target: f.ip,
    origin: f.origin.field ? `${f.origin.file} ${f.origin.field}` : f.origin.file,
  }));
  if (o.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) process.stdout.write('no port forwards\n');
  for (const f of config.forwards) {
    const from = f.sources.length ? ` from ${f.sources.join(',')}` : '';
    process.stdout.write(`${describeForward(f)} -> ${f.vm} ${f.ip}:${f.toPort ?? f.port}${from}\t${f.network}\t${f.origin.field ? `${f.origin.file} ${f.origin.field}` : f.origin.file}\n`);
  }
}
