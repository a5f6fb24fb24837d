import type { DomainInfo } from '../libvirt/domain.js';
import type { DomainInterface } from '../libvirt/scan.js';
import type { DomainNic, DomainRecord } from '../model/types.js';
import { isValidIfName } from '../net/names.js';
import { bridgeOfLibvirtNetwork } from './libvirt-networks-read.js';

/**
 * The bridge each interface is plugged into: <source bridge> (type=bridge, or type=network from
 * `start` on), else the libvirt network's bridge as the network hook recorded it, else what an
 * earlier event recorded for that MAC (a port-created).
 */
export function interfaceBridges(interfaces: readonly DomainInterface[], libvirtNetworks: Record<string, string>, previous: DomainRecord | null) {
  return interfaces.map((i) => ({
    ...i,
    bridge:
      i.bridge ??
      (i.network ? bridgeOfLibvirtNetwork(libvirtNetworks, i.network) : null) ??
      previous?.nics.find((n) => n.mac === i.mac)?.bridge ??
      null,
  }));
}

/** Whether interfaceBridges needs the libvirt network map (an interface names only its network). */
export function needsLibvirtNetworks(interfaces: readonly DomainInterface[]): boolean {
  return interfaces.some((i) => i.bridge === null && i.network !== null);
}

/**
 * THE decision which of a VM's NICs are ours, made the same way by the hook's fast path
 * (prefilter.ts) and its full path (qemu.ts): the NICs on our bridges, first of each MAC.
 */
export function ourNics(
  interfaces: readonly DomainInterface[],
  libvirtNetworks: Record<string, string>,
  previous: DomainRecord | null,
  ours: ReadonlySet<string>,
): (DomainInterface & { bridge: string })[] {
  const out: (DomainInterface & { bridge: string })[] = [];
  for (const i of interfaceBridges(interfaces, libvirtNetworks, previous)) {
    if (i.bridge === null || !ours.has(i.bridge) || out.some((n) => n.mac === i.mac)) continue;
    out.push({ ...i, bridge: i.bridge });
  }
  return out;
}

/** The bridges of ours a domain uses (sorted, unique). */
export function ourBridgesOf(
  interfaces: readonly DomainInterface[],
  libvirtNetworks: Record<string, string>,
  previous: DomainRecord | null,
  ours: ReadonlySet<string>,
): string[] {
  return [...new Set(ourNics(interfaces, libvirtNetworks, previous, ours).map((n) => n.bridge))].sort();
}

/**
 * What the hooks record for a VM, not running: its NICs on our bridges (MAC, bridge) and the
 * leases in its metadata. MACs stay recorded after the VM stops, so its reservation does not move.
 * A running VM's record is this plus applyDomainEvent(.., { kind: 'running' }).
 */
export function buildDomainRecord(
  info: DomainInfo,
  opts: { libvirtNetworks: Record<string, string>; previous: DomainRecord | null; ours: ReadonlySet<string>; now: Date },
): DomainRecord {
  const nics: DomainNic[] = ourNics(info.interfaces, opts.libvirtNetworks, opts.previous, opts.ours).map((i) => ({ mac: i.mac, bridge: i.bridge }));
  const rec: DomainRecord = {
    vm: info.name,
    nics,
    metadataLeases: info.metadataLeases.map((l) => ({ ...l })),
    ...(info.metadataForwards?.length ? { metadataForwards: info.metadataForwards.map((f) => ({ ...f })) } : {}),
    running: false,
    updated: opts.now.toISOString(),
  };
  if (info.uuid) rec.uuid = info.uuid;
  return rec;
}

/** What a hook event does to a VM's record. */
export type DomainEvent =
  /** start/started (and prepare/reconnect of a running VM): running, taps from the XML's <target dev>. */
  | { kind: 'running'; interfaces: readonly DomainInterface[] }
  /** stopped/release: not running, taps gone, MACs kept. */
  | { kind: 'stopped' }
  /**
   * release with reason `migrated` (libvirt >= 10.5): the VM lives on another host now. Not
   * running, taps gone, MACs kept; its <metadata> leases and forwards no longer hold anything
   * here (they travel with its XML and come back with it).
   */
  | { kind: 'migrated' }
  /** port-created: this MAC sits on this bridge (added or moved), the VM is running. */
  | { kind: 'port'; vm: string; uuid: string | null; mac: string; bridge: string };

/** libvirt's 4th argument of `release` (since 10.5) when the VM left for another host. */
export const MIGRATED_REASON = 'migrated';

export function migratedAway(op: string, extra: string): boolean {
  return op === 'release' && extra === MIGRATED_REASON;
}

/**
 * The domain event a qemu hook operation is when it is a record update alone, or null (prepare,
 * reconnect, a release after a migration that also puts the host's state right: the full path).
 */
export function qemuDomainEvent(op: string, interfaces: readonly DomainInterface[], extra = '-'): DomainEvent | null {
  if (op === 'start' || op === 'started') return { kind: 'running', interfaces };
  if (migratedAway(op, extra)) return null;
  if (op === 'stopped' || op === 'release') return { kind: 'stopped' };
  return null;
}

/**
 * THE one function that applies a hook event to a domain record, for the fast path
 * (fast-record.ts) and the full path (qemu.ts, network.ts) alike. Only a port creates a record.
 */
export function applyDomainEvent(rec: DomainRecord | null, ev: Extract<DomainEvent, { kind: 'port' }>, now: Date): DomainRecord;
export function applyDomainEvent(rec: DomainRecord, ev: DomainEvent, now: Date): DomainRecord;
export function applyDomainEvent(rec: DomainRecord | null, ev: DomainEvent, now: Date): DomainRecord {
  const updated = now.toISOString();
  switch (ev.kind) {
    case 'running': {
      // a tap is an interface name later: only one that is valid as such is recorded
      const taps = new Map(ev.interfaces.map((i) => [i.mac, i.tap !== null && isValidIfName(i.tap) ? i.tap : null]));
      const nics = rec!.nics.map(({ tap: _old, ...n }) => {
        const tap = taps.get(n.mac);
        return tap ? { ...n, tap } : n;
      });
      // running here: whatever an earlier migration away said is over
      const { migratedAt: _gone, ...here } = rec!;
      return { ...here, nics, running: true, updated };
    }
    case 'stopped':
      return { ...rec!, running: false, nics: rec!.nics.map(({ tap: _tap, ...n }) => n), updated };
    case 'migrated': {
      const { metadataForwards: _f, ...kept } = rec!;
      return { ...kept, running: false, nics: rec!.nics.map(({ tap: _tap, ...n }) => n), metadataLeases: [], migratedAt: updated, updated };
    }
    case 'port': {
      const base: DomainRecord = rec ?? { vm: ev.vm, nics: [], metadataLeases: [], running: true, updated: '' };
      const nics = base.nics.filter((n) => n.mac !== ev.mac);
      nics.push({ mac: ev.mac, bridge: ev.bridge });
      const { migratedAt: _gone, ...here } = base;
      const out: DomainRecord = { ...here, nics, running: true, updated };
      if (ev.uuid && !out.uuid) out.uuid = ev.uuid;
      return out;
    }
  }
}

/** VMs still running on a bridge, other than `except`. */
export function runningOn(records: DomainRecord[], bridge: string, except: string): string[] {
  return records.filter((r) => r.vm !== except && r.running && r.nics.some((n) => n.bridge === bridge)).map((r) => r.vm);
}
