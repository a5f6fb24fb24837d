import type { DomainNic, DomainRecord } from '../model/types.js';
import type { LinkState } from '../observe/links.js';
import { isTapOf } from './ownership.js';

/** A running VM's interface on one of our bridges, confirmed by its tap existing on the host. */
export interface RunningTap {
  vm: string;
  tap: string;
  /** The bridge the tap is enslaved to now (null: none), which may not be the one the VM is on. */
  master: string | null;
  /** The tap has the MAC libvirt gives a VM's tap (the guest's, first octet fe): `up` re-attaches only such a tap. */
  ownMac: boolean;
}

/**
 * The VMs the hook records say are running on `bridge`, each tap confirmed by the host: a record
 * whose tap is gone (the VM died without a release hook, the host rebooted) is not a running VM.
 * Pure.
 */
export function runningTapsOn(domains: DomainRecord[], bridge: string, links: Map<string, LinkState>): RunningTap[] {
  const out: RunningTap[] = [];
  for (const d of domains) {
    if (!d.running) continue;
    for (const n of d.nics) {
      const link = n.bridge === bridge && n.tap ? links.get(n.tap) : undefined;
      if (link) out.push({ vm: d.vm, tap: link.name, master: link.master, ownMac: isTapOf(link, n.mac) });
    }
  }
  return out;
}

/**
 * A NIC's tap is on this host and is that NIC's: the link exists and has the MAC libvirt gives
 * the guest's tap. libvirt reuses vnetN names, so a link of that name alone may be another VM's.
 * Pure.
 */
export function tapIsHere(nic: Pick<DomainNic, 'tap' | 'mac'>, links: Map<string, LinkState>): boolean {
  const link = nic.tap ? links.get(nic.tap) : undefined;
  return link !== undefined && isTapOf(link, nic.mac);
}

/** "web (vnet0), db (vnet1, vnet2)" */
export function describeRunning(taps: RunningTap[]): string {
  const byVm = new Map<string, string[]>();
  for (const t of taps) byVm.set(t.vm, [...(byVm.get(t.vm) ?? []), t.tap]);
  return [...byVm].map(([vm, list]) => `${JSON.stringify(vm)} (${list.join(', ')})`).join(', ');
}
