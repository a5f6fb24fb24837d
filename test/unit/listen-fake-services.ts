/**
 * Stand-ins for firewalld and NetworkManager on a plain private bus: they own the real
 * well-known names, answer the few calls the listener makes, and emit signals (real ones
 * and malformed ones). For unit tests of the listener's D-Bus side; the e2e tests use
 * the real daemons.
 */
import dbus from 'dbus-next';
import { FW_NAME, FW_PATH, FW_ZONE_IFACE, NM_NAME, NM_PATH } from '../../src/listen/signals.js';

const PROPS = 'org.freedesktop.DBus.Properties';

export class FakeService {
  readonly calls: string[] = [];
  private constructor(
    readonly bus: dbus.MessageBus,
    readonly name: string,
  ) {}

  static async start(address: string, name: string, answer: (msg: dbus.Message) => { signature: string; body: unknown[] } | string | null): Promise<FakeService> {
    const bus = dbus.sessionBus({ busAddress: address });
    bus.on('error', () => {});
    const svc = new FakeService(bus, name);
    bus.addMethodHandler((msg: dbus.Message) => {
      svc.calls.push(`${msg.member}(${(msg.body ?? []).map(String).join(',')})`);
      const a = answer(msg);
      if (a === null) return false;
      if (typeof a === 'string') // dbus-next's typings say string; at run time it takes the call being answered
      bus.send(dbus.Message.newError(msg as unknown as string, a, 'refused by the fake'));
      else bus.send(dbus.Message.newMethodReturn(msg, a.signature, a.body));
      return true;
    });
    await bus.requestName(name, 4 /* DO_NOT_QUEUE */);
    return svc;
  }

  signal(path: string, iface: string, member: string, signature = '', body: unknown[] = []): void {
    this.bus.send(dbus.Message.newSignal(path, iface, member, signature, body));
  }

  stop(): void {
    this.bus.disconnect();
  }
}

/** A fake firewalld: `state` property, zone of interface calls, Reloaded signals. */
export async function fakeFirewalld(address: string, opts: { statesBeforeRunning?: number } = {}) {
  let initPolls = opts.statesBeforeRunning ?? 0;
  const zones = new Map<string, string>();
  const svc = await FakeService.start(address, FW_NAME, (msg) => {
    if (msg.interface === PROPS && msg.member === 'Get' && msg.body[1] === 'state') {
      const state = initPolls-- > 0 ? 'INIT' : 'RUNNING';
      return { signature: 'v', body: [new dbus.Variant('s', state)] };
    }
    if (msg.interface === FW_ZONE_IFACE && msg.member === 'getZoneOfInterface') return { signature: 's', body: [zones.get(msg.body[0]) ?? ''] };
    if (msg.interface === FW_ZONE_IFACE && (msg.member === 'addInterface' || msg.member === 'changeZoneOfInterface')) {
      if (msg.body[0] === 'nosuchzone') return 'org.fedoraproject.FirewallD1.Exception';
      zones.set(msg.body[1], msg.body[0]);
      return { signature: 's', body: [msg.body[0]] };
    }
    return null;
  });
  return {
    svc,
    zones,
    reloaded: () => svc.signal(FW_PATH, FW_NAME, 'Reloaded'),
  };
}

/** A fake NetworkManager: GetDeviceByIpIface + Device.Managed, StateChanged/DeviceAdded signals. */
export async function fakeNetworkManager(address: string, managed: Record<string, boolean>) {
  const svc = await FakeService.start(address, NM_NAME, (msg) => {
    if (msg.interface === NM_NAME && msg.member === 'GetDeviceByIpIface') {
      const i = Object.keys(managed).indexOf(msg.body[0]);
      return i < 0 ? 'org.freedesktop.NetworkManager.UnknownDevice' : { signature: 'o', body: [`${NM_PATH}/Devices/${i + 1}`] };
    }
    if (msg.interface === PROPS && msg.member === 'Get' && msg.body[1] === 'Managed') {
      const i = Number(msg.path.split('/').pop()) - 1;
      return { signature: 'v', body: [new dbus.Variant('b', Object.values(managed)[i])] };
    }
    return null;
  });
  return {
    svc,
    stateChanged: (state: number) => svc.signal(NM_PATH, NM_NAME, 'StateChanged', 'u', [state]),
    deviceAdded: (n: number) => svc.signal(NM_PATH, NM_NAME, 'DeviceAdded', 'o', [`${NM_PATH}/Devices/${n}`]),
  };
}
