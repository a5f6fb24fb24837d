import { readFileSync } from 'node:fs';
import { libvirtNetworksFile as libvirtNetworksFileOf } from '../state/layout.js';

/**
 * libvirt network name → bridge, learned by the network hook (start/started/port-created).
 * The qemu hook's `prepare` needs it: there a type=network interface names only the
 * network (`<source network='lv-net'/>`), its bridge appears from `start` on.
 */
export function libvirtNetworksFile(libDir: string): string {
  return libvirtNetworksFileOf({ libDir });
}

export function readLibvirtNetworks(libDir: string): Record<string, string> {
  try {
    const v = JSON.parse(readFileSync(libvirtNetworksFile(libDir), 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export function bridgeOfLibvirtNetwork(map: Record<string, string>, name: string): string | null {
  return Object.hasOwn(map, name) && typeof map[name] === 'string' ? map[name] : null;
}
