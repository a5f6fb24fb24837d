import { type BusClient, getProperty } from './bus.js';
import { NM_NAME, NM_PATH } from './signals.js';

/**
 * Whether NetworkManager manages `iface`: true/false from Device.Managed, or null when
 * NetworkManager does not know the device (or is not there to ask).
 */
export async function deviceManaged(bus: BusClient, iface: string): Promise<boolean | null> {
  let path: unknown;
  try {
    [path] = await bus.call(
      { destination: NM_NAME, path: NM_PATH, interface: NM_NAME, member: 'GetDeviceByIpIface', signature: 's', body: [iface] },
      2_000,
    );
  } catch {
    return null;
  }
  if (typeof path !== 'string') return null;
  try {
    const managed = await getProperty(bus, NM_NAME, path, 'org.freedesktop.NetworkManager.Device', 'Managed', 2_000);
    return typeof managed === 'boolean' ? managed : null;
  } catch {
    return null;
  }
}
