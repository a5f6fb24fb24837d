import dbus from 'dbus-next';
import { DBUS_NAME, DBUS_PATH, type SignalLike } from './signals.js';
import { NatnetError } from '../errors.js';

/** The bus is unreachable or a call to it failed: one line naming the call or the address. */
export class BusError extends NatnetError {}

/**
 * A thin, defensive wrapper over a dbus-next connection, using raw messages only
 * (no proxy objects: they need Introspect, which firewalld refuses without polkit to
 * non-root, and they lose a restarted service's signals).
 * dbus-next emits no `error` when the bus goes away, only `end` on its connection,
 * and leaves pending calls unanswered forever: every call here has a timeout and
 * every pending call fails when the connection is lost.
 */
export interface CallSpec {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

export interface BusClient {
  /** Our unique name on the bus, e.g. ":1.42". */
  readonly uniqueName: string;
  /** Reply body of a method call; rejects on a D-Bus error, timeout or lost bus. */
  call(spec: CallSpec, timeoutMs?: number): Promise<unknown[]>;
  onMessage(fn: (msg: SignalLike) => void): void;
  /** Called once when the connection ends for any reason other than close(). */
  onLost(fn: (why: string) => void): void;
  readonly lost: boolean;
  close(): void;
}

export const DEFAULT_CALL_TIMEOUT_MS = 5_000;

/** The system bus address as dbus-next resolves it (DBUS_SYSTEM_BUS_ADDRESS or the default socket). */
export function systemBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/var/run/dbus/system_bus_socket';
}

/**
 * Connect and say Hello. `address` defaults to the system bus; dbus-next's systemBus()
 * ignores a busAddress option, so an explicit address goes through sessionBus().
 */
export function connectBus(address?: string, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<BusClient> {
  return new Promise((resolve, reject) => {
    let bus: dbus.MessageBus;
    try {
      bus = address ? dbus.sessionBus({ busAddress: address }) : dbus.systemBus();
    } catch (e) {
      reject(new BusError(`cannot connect to D-Bus ${address ?? systemBusAddress()}: ${errText(e)}`));
      return;
    }
    const where = address ?? systemBusAddress();
    const client = new Client(bus);
    const timer = setTimeout(() => {
      client.close();
      reject(new BusError(`cannot connect to D-Bus ${where}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    client.onLost((why) => {
      clearTimeout(timer);
      reject(new BusError(`cannot connect to D-Bus ${where}: ${why}`));
    });
    bus.once('connect', () => {
      clearTimeout(timer);
      resolve(client);
    });
  });
}

function errText(e: unknown): string {
  if (e instanceof Error) return e.message;
  try {
    return String(e);
  } catch {
    return 'unknown error';
  }
}

class Client implements BusClient {
  lost = false;
  private closed = false;
  private readonly lostHandlers: ((why: string) => void)[] = [];
  private readonly pending = new Set<(why: string) => void>();

  constructor(private readonly bus: dbus.MessageBus) {
    const conn = (bus as unknown as { _connection: NodeJS.EventEmitter })._connection;
    bus.on('error', (e: unknown) => this.markLost(errText(e)));
    conn.on('end', () => this.markLost('connection closed by the bus'));
    (conn as unknown as { stream?: NodeJS.EventEmitter }).stream?.on('close', () =>
      this.markLost('connection closed'),
    );
  }

  get uniqueName(): string {
    return (this.bus as unknown as { name: string | null }).name ?? '';
  }

  private markLost(why: string): void {
    if (this.lost) return;
    this.lost = true;
    for (const fail of this.pending) fail(why);
    this.pending.clear();
    if (this.closed) return;
    for (const fn of this.lostHandlers) {
      try {
        fn(why);
      } catch {
        // a handler's failure must not stop the others
      }
    }
  }

  onLost(fn: (why: string) => void): void {
    this.lostHandlers.push(fn);
  }

  onMessage(fn: (msg: SignalLike) => void): void {
    this.bus.on('message', (msg: SignalLike) => {
      try {
        fn(msg);
      } catch {
        // never let a handler's exception reach dbus-next (it would answer the signal with an error)
      }
    });
  }

  call(spec: CallSpec, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<unknown[]> {
    const what = `${spec.interface}.${spec.member} on ${spec.destination}`;
    if (this.lost) return Promise.reject(new BusError(`${what}: bus connection lost`));
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        this.pending.delete(fail);
        reject(new BusError(`${what}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no reply within ${timeoutMs} ms`), timeoutMs);
      this.pending.add(fail);
      let msg: dbus.Message;
      try {
        msg = new dbus.Message({ ...spec, signature: spec.signature ?? '', body: spec.body ?? [] });
      } catch (e) {
        fail(errText(e));
        return;
      }
      this.bus.call(msg).then(
        (reply) => {
          clearTimeout(timer);
          this.pending.delete(fail);
          resolve(Array.isArray(reply?.body) ? reply.body : []);
        },
        (e: unknown) => fail(errText(e)),
      );
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.bus.disconnect();
    } catch {
      // already gone
    }
  }
}

/** org.freedesktop.DBus helpers. */
export async function addMatch(bus: BusClient, rule: string): Promise<void> {
  await bus.call({ destination: DBUS_NAME, path: DBUS_PATH, interface: DBUS_NAME, member: 'AddMatch', signature: 's', body: [rule] });
}

export async function nameHasOwner(bus: BusClient, name: string): Promise<boolean> {
  const [has] = await bus.call({
    destination: DBUS_NAME,
    path: DBUS_PATH,
    interface: DBUS_NAME,
    member: 'NameHasOwner',
    signature: 's',
    body: [name],
  });
  return has === true;
}

/** Properties.Get, unwrapping the Variant. */
export async function getProperty(
  bus: BusClient,
  destination: string,
  path: string,
  iface: string,
  prop: string,
  timeoutMs?: number,
): Promise<unknown> {
  const [v] = await bus.call(
    { destination, path, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [iface, prop] },
    timeoutMs,
  );
  return v && typeof v === 'object' && 'value' in v ? (v as { value: unknown }).value : v;
}
