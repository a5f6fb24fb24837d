import { type BusClient, getProperty } from './bus.js';
import { FW_NAME, FW_PATH, FW_ZONE_IFACE } from './signals.js';

/** firewalld's `state` property: "INIT" while (re)loading, "RUNNING" when ready, "FAILED". */
export async function firewalldState(bus: BusClient): Promise<string | null> {
  try {
    const v = await getProperty(bus, FW_NAME, FW_PATH, FW_NAME, 'state', 2_000);
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/**
 * firewalld announces its name before it flushes and applies its own rules; rules we
 * re-apply before `state` is RUNNING are flushed again. Poll with a bound.
 */
export async function waitFirewalldRunning(
  bus: BusClient,
  opts: { tries: number; intervalMs: number; stillWanted?: () => boolean },
): Promise<boolean> {
  for (let i = 0; i < opts.tries; i++) {
    if (opts.stillWanted && !opts.stillWanted()) return false;
    if ((await firewalldState(bus)) === 'RUNNING') return true;
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
  return false;
}

function zoneCall(bus: BusClient, member: string, body: string[]): Promise<unknown[]> {
  return bus.call({
    destination: FW_NAME,
    path: FW_PATH,
    interface: FW_ZONE_IFACE,
    member,
    signature: 's'.repeat(body.length),
    body,
  });
}

export interface ZoneResult {
  /** The zone the interface is in afterwards. */
  zone: string;
  changed: boolean;
}

/** Put `iface` in `zone` in firewalld's runtime configuration (not permanent). */
export async function ensureInterfaceZone(bus: BusClient, iface: string, zone: string): Promise<ZoneResult> {
  const [current] = await zoneCall(bus, 'getZoneOfInterface', [iface]);
  if (current === zone) return { zone, changed: false };
  if (typeof current === 'string' && current !== '') await zoneCall(bus, 'changeZoneOfInterface', [zone, iface]);
  else await zoneCall(bus, 'addInterface', [zone, iface]);
  return { zone, changed: true };
}
