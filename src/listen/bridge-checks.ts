import type { Logger } from '../log.js';
import type { BusClient } from './bus.js';
import { ensureInterfaceZone } from './firewalld.js';
import { deviceManaged } from './networkmanager.js';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Keep one entry per bridge in each per-bridge record: drop old bridges, add new ones as null. */
export function syncBridgeKeys(records: Record<string, unknown>[], bridges: string[]): void {
  for (const rec of records) {
    for (const b of Object.keys(rec)) if (!bridges.includes(b)) delete rec[b];
    for (const b of bridges) if (!(b in rec)) rec[b] = null;
  }
}

/** Put each bridge in the firewalld zone (runtime); records the zone, or null when it failed. */
export async function putBridgesInZone(
  bus: BusClient,
  bridges: string[],
  zone: string,
  record: Record<string, string | null>,
  log: Logger,
): Promise<void> {
  for (const bridge of bridges) {
    try {
      const r = await ensureInterfaceZone(bus, bridge, zone);
      record[bridge] = r.zone;
      if (r.changed) log.info({ bridge, zone }, 'bridge put in firewalld zone (runtime)');
    } catch (e) {
      record[bridge] = null;
      log.warn({ bridge, zone, err: errText(e) }, 'could not put bridge in firewalld zone');
    }
  }
}

/** Ask NetworkManager whether it manages each bridge; warn once when one becomes managed. */
export async function checkUnmanaged(
  bus: BusClient,
  bridges: string[],
  record: Record<string, boolean | null>,
  log: Logger,
): Promise<void> {
  for (const bridge of bridges) {
    const managed = await deviceManaged(bus, bridge);
    const was = record[bridge];
    record[bridge] = managed;
    if (managed === true && was !== true) {
      log.warn(
        { bridge },
        `NetworkManager manages ${bridge}; it must not (add unmanaged-devices=interface-name:${bridge} to its [keyfile] config)`,
      );
    }
  }
}
