import type { Logger } from '../log.js';
import { type BusClient, nameHasOwner } from './bus.js';
import { SYSTEMD_MANAGER, SYSTEMD_NAME, SYSTEMD_PATH } from './signals.js';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Ask systemd for its unit signals (it sends JobRemoved and the units' PropertiesChanged only
 * to clients that called Manager.Subscribe; the subscription ends with our connection). Without
 * systemd on the bus (a container, a test bus) there is nothing to watch: one debug line, and
 * the periodic check still repairs what Docker resets. Never throws.
 */
export async function subscribeSystemd(bus: BusClient, log: Logger): Promise<boolean> {
  try {
    if (!(await nameHasOwner(bus, SYSTEMD_NAME))) {
      log.debug({ name: SYSTEMD_NAME }, 'systemd is not on this bus: Docker restarts are seen by the periodic check only');
      return false;
    }
    await bus.call({ destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: SYSTEMD_MANAGER, member: 'Subscribe' });
    return true;
  } catch (e) {
    log.debug({ err: errText(e) }, 'systemd Subscribe failed: Docker restarts are seen by the periodic check only');
    return false;
  }
}
