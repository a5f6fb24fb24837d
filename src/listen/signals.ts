/**
 * What the listener subscribes to and how a received message maps to an event.
 * Pure: no bus, no I/O. Anything unexpected (unknown member, wrong signature,
 * odd body) classifies as null and is ignored.
 */

export const DBUS_NAME = 'org.freedesktop.DBus';
export const DBUS_PATH = '/org/freedesktop/DBus';
export const NM_NAME = 'org.freedesktop.NetworkManager';
export const NM_PATH = '/org/freedesktop/NetworkManager';
export const FW_NAME = 'org.fedoraproject.FirewallD1';
export const FW_PATH = '/org/fedoraproject/FirewallD1';
export const FW_ZONE_IFACE = 'org.fedoraproject.FirewallD1.zone';
export const SYSTEMD_NAME = 'org.freedesktop.systemd1';
export const SYSTEMD_PATH = '/org/freedesktop/systemd1';
export const SYSTEMD_MANAGER = 'org.freedesktop.systemd1.Manager';
/** Docker's unit: when it (re)starts, it rebuilds its chains and may reset DOCKER-USER. */
export const DOCKER_UNIT = 'docker.service';
/** The unit's object path (systemd escapes '.' as _2e). */
export const DOCKER_UNIT_PATH = `${SYSTEMD_PATH}/unit/docker_2eservice`;
const PROPERTIES = 'org.freedesktop.DBus.Properties';

/** The fields of a dbus-next Message the classifier looks at. */
export interface SignalLike {
  type?: number;
  sender?: string | null;
  path?: string | null;
  interface?: string | null;
  member?: string | null;
  signature?: string | null;
  body?: unknown;
}

export type ListenerEvent =
  | { kind: 'firewalld-started'; what: string }
  | { kind: 'firewalld-stopped'; what: string }
  | { kind: 'firewalld-reloaded'; what: string }
  | { kind: 'nm-started'; what: string }
  | { kind: 'nm-stopped'; what: string }
  | { kind: 'nm-changed'; what: string }
  | { kind: 'docker-started'; what: string };

const SIGNAL = 4; // dbus-next MessageType.SIGNAL

/**
 * Raw match rules, added once per connection. They keep working while a service
 * is absent and across its restarts (the bus resolves sender= at delivery time),
 * unlike dbus-next proxy objects, which silently lose a restarted service's signals.
 */
export function matchRules(): string[] {
  const owner = (name: string) =>
    `type='signal',sender='${DBUS_NAME}',path='${DBUS_PATH}',interface='${DBUS_NAME}',member='NameOwnerChanged',arg0='${name}'`;
  const from = (sender: string, iface: string, member: string) =>
    `type='signal',sender='${sender}',interface='${iface}',member='${member}'`;
  return [
    owner(NM_NAME),
    owner(FW_NAME),
    from(FW_NAME, FW_NAME, 'Reloaded'),
    from(NM_NAME, NM_NAME, 'StateChanged'),
    from(NM_NAME, NM_NAME, 'DeviceAdded'),
    from(NM_NAME, NM_NAME, 'DeviceRemoved'),
    // systemd sends these only to a client that called Manager.Subscribe (the listener does)
    `${from(SYSTEMD_NAME, SYSTEMD_MANAGER, 'JobRemoved')},arg2='${DOCKER_UNIT}'`,
    `${from(SYSTEMD_NAME, PROPERTIES, 'PropertiesChanged')},path='${DOCKER_UNIT_PATH}',arg0='org.freedesktop.systemd1.Unit'`,
  ];
}

/** JobRemoved(u id, o job, s unit, s result) of docker.service, or its unit's ActiveState turning active. */
function classifySystemd(msg: SignalLike): ListenerEvent | null {
  const body = bodyOf(msg);
  if (msg.interface === SYSTEMD_MANAGER && msg.member === 'JobRemoved') {
    if (msg.signature !== 'uoss' || body[2] !== DOCKER_UNIT || typeof body[3] !== 'string') return null;
    return { kind: 'docker-started', what: `systemd job for ${DOCKER_UNIT} ${body[3]}` };
  }
  if (msg.interface === PROPERTIES && msg.member === 'PropertiesChanged' && msg.path === DOCKER_UNIT_PATH) {
    const changed = body[1] as Record<string, { value?: unknown }> | undefined;
    const state = changed && typeof changed === 'object' ? changed.ActiveState?.value : undefined;
    return state === 'active' ? { kind: 'docker-started', what: `${DOCKER_UNIT} ActiveState active` } : null;
  }
  return null;
}

function bodyOf(msg: SignalLike): unknown[] {
  return Array.isArray(msg.body) ? msg.body : [];
}

function classifyOwnerChange(msg: SignalLike): ListenerEvent | null {
  if (msg.sender !== DBUS_NAME || msg.signature !== 'sss') return null;
  const [name, oldOwner, newOwner] = bodyOf(msg);
  if (typeof name !== 'string' || typeof oldOwner !== 'string' || typeof newOwner !== 'string') return null;
  const appeared = newOwner !== '';
  if (name === FW_NAME) {
    return appeared
      ? { kind: 'firewalld-started', what: `firewalld appeared (${newOwner})` }
      : { kind: 'firewalld-stopped', what: `firewalld went away (${oldOwner})` };
  }
  if (name === NM_NAME) {
    return appeared
      ? { kind: 'nm-started', what: `NetworkManager appeared (${newOwner})` }
      : { kind: 'nm-stopped', what: `NetworkManager went away (${oldOwner})` };
  }
  return null;
}

function classifyNetworkManager(msg: SignalLike): ListenerEvent | null {
  const body = bodyOf(msg);
  switch (msg.member) {
    case 'StateChanged':
      if (msg.signature !== 'u' || typeof body[0] !== 'number') return null;
      return { kind: 'nm-changed', what: `NetworkManager state ${body[0]}` };
    case 'DeviceAdded':
    case 'DeviceRemoved':
      if (msg.signature !== 'o' || typeof body[0] !== 'string') return null;
      return { kind: 'nm-changed', what: `NetworkManager ${msg.member} ${body[0]}` };
    default:
      return null;
  }
}

/** Map one received message to a listener event, or null to ignore it. Never throws. */
export function classifySignal(msg: SignalLike): ListenerEvent | null {
  try {
    if (msg.type !== SIGNAL) return null;
    if (msg.interface === DBUS_NAME && msg.member === 'NameOwnerChanged') return classifyOwnerChange(msg);
    if (msg.interface === FW_NAME && msg.member === 'Reloaded') {
      // Reloaded has no arguments; tolerate extra ones rather than miss a real reload
      return { kind: 'firewalld-reloaded', what: 'firewalld Reloaded' };
    }
    if (msg.interface === NM_NAME) return classifyNetworkManager(msg);
    return classifySystemd(msg);
  } catch {
    return null;
  }
}

/** A short, JSON-safe description of any message, for debug logs (bodies may hold BigInt/Buffers). */
export function describeMessage(msg: SignalLike): string {
  try {
    return `${msg.interface ?? '?'}.${msg.member ?? '?'}(${msg.signature ?? ''}) from ${msg.sender ?? '?'} at ${msg.path ?? '?'}`;
  } catch {
    return 'unprintable message';
  }
}
