import { writeFileAtomic } from '../apply/atomic-write.js';
import { libvirtNetworks } from '../state/schema.js';
import { quarantine, readRecord } from '../state/store.js';
import { bridgeOfLibvirtNetwork, libvirtNetworksFile, readLibvirtNetworks } from './libvirt-networks-read.js';

export { bridgeOfLibvirtNetwork, libvirtNetworksFile, readLibvirtNetworks };

/** Caller holds the engine lock. A bad map is set aside (*.bad) and started afresh. */
export function rememberLibvirtNetwork(libDir: string, name: string, bridge: string): void {
  const file = libvirtNetworksFile(libDir);
  const r = readRecord(file, (v) => libvirtNetworks(v));
  if (r.kind === 'bad') quarantine(r.bad);
  const map: Record<string, string> = r.kind === 'ok' ? r.value : Object.create(null);
  if (bridgeOfLibvirtNetwork(map, name) === bridge) return;
  map[name] = bridge;
  writeFileAtomic(file, `${JSON.stringify(map, null, 2)}\n`);
}
