import { libvirtNetworksFile as libvirtNetworksFileOf } from '../state/layout.js';
import { libvirtNetworks } from '../state/schema.js';
import { readRecord } from '../state/store.js';

/**
 * libvirt network name → bridge, learned by the network hook (start/started/port-created).
 * The qemu hook's `prepare` needs it: there a type=network interface names only the
 * network (`<source network='lv-net'/>`), its bridge appears from `start` on.
 */
export function libvirtNetworksFile(libDir: string): string {
  return libvirtNetworksFileOf({ libDir });
}

/** The map, validated; {} when absent or bad (the writer, under the lock, sets a bad file aside). */
export function readLibvirtNetworks(libDir: string): Record<string, string> {
  const r = readRecord(libvirtNetworksFile(libDir), (v) => libvirtNetworks(v));
  return r.kind === 'ok' ? r.value : Object.create(null);
}

export function bridgeOfLibvirtNetwork(map: Record<string, string>, name: string): string | null {
  return Object.hasOwn(map, name) && typeof map[name] === 'string' ? map[name] : null;
}
