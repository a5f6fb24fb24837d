import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readText } from '../config/read-text.js';
import { readLibvirtNetworks } from '../hook/libvirt-networks-read.js';
import { scanNetworkHook } from '../libvirt/scan.js';
import { LIBVIRT_NETWORK_STATUS_DIR } from '../state/layout.js';

/**
 * Which libvirt network each bridge belongs to (bridge -> network name), to say "virbr0 (libvirt
 * network 'default')" when that bridge is in the way. From libvirt's status files of its active
 * networks, and from what our network hook learned (libvirt-networks.json). Only names things in
 * messages: anything unreadable or malformed is skipped, never fatal.
 */
export function libvirtNetworkOfBridge(libDir: string, statusDir = LIBVIRT_NETWORK_STATUS_DIR): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, bridge] of Object.entries(readLibvirtNetworks(libDir))) out.set(bridge, name);
  let files: string[] = [];
  try {
    files = readdirSync(statusDir).filter((f) => f.endsWith('.xml'));
  } catch {
    // no libvirt on this host, or not readable by us
  }
  for (const f of files) {
    try {
      const s = scanNetworkHook(readText(join(statusDir, f)) ?? '', 'networkstatus');
      if (s.wellFormed && s.name && s.bridge) out.set(s.bridge, s.name);
    } catch {
      // a file we cannot read as text names nothing
    }
  }
  return out;
}
