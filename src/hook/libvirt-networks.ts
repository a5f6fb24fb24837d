import { writeFileAtomic } from '../apply/atomic-write.js';
import { bridgeOfLibvirtNetwork, libvirtNetworksFile, readLibvirtNetworks } from './libvirt-networks-read.js';

export { bridgeOfLibvirtNetwork, libvirtNetworksFile, readLibvirtNetworks };

/** Caller holds the engine lock. */
export function rememberLibvirtNetwork(libDir: string, name: string, bridge: string): void {
  const map = readLibvirtNetworks(libDir);
  if (bridgeOfLibvirtNetwork(map, name) === bridge) return;
  // defineProperty: a network may be called "__proto__"
  Object.defineProperty(map, name, { value: bridge, enumerable: true, writable: true, configurable: true });
  writeFileAtomic(libvirtNetworksFile(libDir), `${JSON.stringify(map, null, 2)}\n`);
}
