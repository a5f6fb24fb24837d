import type { DomainInfo } from '../libvirt/domain.js';
import type { DomainNic, DomainRecord } from '../model/types.js';
import { bridgeOfLibvirtNetwork } from './libvirt-networks.js';

/**
 * The bridge each interface is plugged into: <source bridge> (type=bridge, or type=network from
 * `start` on), else the libvirt network's bridge as the network hook recorded it, else what an
 * earlier event recorded for that MAC (a port-created).
 */
export function interfaceBridges(info: DomainInfo, libvirtNetworks: Record<string, string>, previous: DomainRecord | null) {
  return info.interfaces.map((i) => ({
    ...i,
    bridge:
      i.bridge ??
      (i.network ? bridgeOfLibvirtNetwork(libvirtNetworks, i.network) : null) ??
      previous?.nics.find((n) => n.mac === i.mac)?.bridge ??
      null,
  }));
}

/** The bridges of ours a domain uses (sorted, unique). */
export function ourBridgesOf(info: DomainInfo, libvirtNetworks: Record<string, string>, previous: DomainRecord | null, ours: Set<string>): string[] {
  const used = interfaceBridges(info, libvirtNetworks, previous)
    .map((i) => i.bridge)
    .filter((b): b is string => b !== null && ours.has(b));
  return [...new Set(used)].sort();
}

/**
 * What the hooks record for a VM: its NICs on our bridges (MAC, bridge, tap once known) and the
 * leases in its metadata. MACs stay recorded after the VM stops, so its reservation does not move.
 */
export function buildDomainRecord(
  info: DomainInfo,
  opts: { libvirtNetworks: Record<string, string>; previous: DomainRecord | null; ours: Set<string>; running: boolean; now: Date },
): DomainRecord {
  const nics: DomainNic[] = [];
  for (const i of interfaceBridges(info, opts.libvirtNetworks, opts.previous)) {
    if (i.bridge === null || !opts.ours.has(i.bridge) || nics.some((n) => n.mac === i.mac)) continue;
    const nic: DomainNic = { mac: i.mac, bridge: i.bridge };
    if (opts.running && i.tap) nic.tap = i.tap;
    nics.push(nic);
  }
  const rec: DomainRecord = {
    vm: info.name,
    nics,
    metadataLeases: info.metadataLeases.map((l) => ({ ...l })),
    running: opts.running,
    updated: opts.now.toISOString(),
  };
  if (info.uuid) rec.uuid = info.uuid;
  return rec;
}

/** A VM left (stopped/release): not running, taps gone, MACs kept. */
export function markStopped(rec: DomainRecord, now: Date): DomainRecord {
  return { ...rec, running: false, nics: rec.nics.map(({ tap: _tap, ...n }) => n), updated: now.toISOString() };
}

/** A port-created: this MAC sits on this bridge (added or moved), the VM is running. */
export function withPort(rec: DomainRecord | null, vm: string, uuid: string | null, mac: string, bridge: string, now: Date): DomainRecord {
  const base: DomainRecord = rec ?? { vm, nics: [], metadataLeases: [], running: true, updated: '' };
  const nics = base.nics.filter((n) => n.mac !== mac);
  nics.push({ mac, bridge });
  const out: DomainRecord = { ...base, nics, running: true, updated: now.toISOString() };
  if (uuid && !out.uuid) out.uuid = uuid;
  return out;
}

/** VMs still running on a bridge, other than `except`. */
export function runningOn(records: DomainRecord[], bridge: string, except: string): string[] {
  return records.filter((r) => r.vm !== except && r.running && r.nics.some((n) => n.bridge === bridge)).map((r) => r.vm);
}
