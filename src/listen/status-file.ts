import { listenerStatusFile } from '../state/layout.js';
import { array, boolean, integer, object, string } from '../state/schema.js';
import { readRecord } from '../state/store.js';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { pidAlive } from '../observe/procfs.js';

/** What the running listener reports in <runDir>/listener.json (shown by `status`). */
export interface ListenerStatus {
  pid: number;
  /** ISO times. */
  started: string;
  updated: string;
  /** Set on a clean shutdown. */
  stopped?: string;
  bus: { address: string; connected: boolean; uniqueName: string | null; reconnects: number };
  /** Whether each service currently owns its name on the bus. */
  services: { networkManager: boolean; firewalld: boolean };
  lastEvent: { time: string; what: string } | null;
  lastRepair: { time: string; reason: string; actions: string[]; error?: string } | null;
  repairs: number;
  /** Per bridge: NetworkManager's Device.Managed (null = NM absent or device unknown to it). */
  nmManaged: Record<string, boolean | null>;
  /** Per bridge: the firewalld zone it is in (null = firewalld absent or not set). */
  firewalldZone: Record<string, string | null>;
  /** Reload signals (SIGHUP) received since the listener started. The reload fields are always written; optional for older files' readers. */
  reloadsRequested?: number;
  /** The last reload's answer; `covers`: the reloadsRequested count it answers (all up to it). */
  lastReload?: { covers: number; time: string; ok: boolean; actions: string[]; error?: string } | null;
  /**
   * The config file did not validate: nothing of it was applied, the listener keeps the
   * configuration last applied. `reload`: a reload rejected it (reported until a reload succeeds).
   */
  configError?: { at: string; message: string; reload: boolean } | null;
}

export interface ListenerStatusView extends ListenerStatus {
  /** The recorded pid is alive and the listener did not record a clean stop. */
  running: boolean;
}

export const LISTENER_STATUS_FILE = 'listener.json';

export function listenerStatusPath(runDir: string): string {
  return listenerStatusFile({ runDir });
}

export function writeListenerStatus(runDir: string, status: ListenerStatus): void {
  writeFileAtomic(listenerStatusPath(runDir), `${JSON.stringify(status, null, 2)}\n`, 0o644);
}

/** The shape the listener writes; anything else in the file is not trusted (status shows it). */
export function listenerStatus(v: unknown): ListenerStatus {
  const o = object(v, '');
  const nullable = <T>(x: unknown, at: string, check: (x: unknown, at: string) => T): T | null => (x === null ? null : check(x, at));
  const bus = object(o.bus, '.bus');
  const services = object(o.services, '.services');
  const event = nullable(o.lastEvent, '.lastEvent', object);
  const repair = nullable(o.lastRepair, '.lastRepair', object);
  // absent in files of listeners older than reload: read as "no reload yet"
  const reload = o.lastReload === undefined ? null : nullable(o.lastReload, '.lastReload', object);
  const configError = o.configError === undefined ? null : nullable(o.configError, '.configError', object);
  const count = (x: unknown, at: string) => integer(x, at, 0, Number.MAX_SAFE_INTEGER);
  const strings = (x: unknown, at: string) => array(x, at).map((a, i) => string(a, `${at}[${i}]`));
  const map = <T>(x: unknown, at: string, check: (x: unknown, at: string) => T) =>
    Object.fromEntries(Object.entries(object(x, at)).map(([k, val]) => [k, check(val, `${at}[${JSON.stringify(k)}]`)]));
  const status: ListenerStatus = {
    pid: integer(o.pid, '.pid', 1, 2 ** 31 - 1),
    started: string(o.started, '.started'),
    updated: string(o.updated, '.updated'),
    bus: {
      address: string(bus.address, '.bus.address'),
      connected: boolean(bus.connected, '.bus.connected'),
      uniqueName: nullable(bus.uniqueName, '.bus.uniqueName', string),
      reconnects: integer(bus.reconnects, '.bus.reconnects', 0, Number.MAX_SAFE_INTEGER),
    },
    services: { networkManager: boolean(services.networkManager, '.services.networkManager'), firewalld: boolean(services.firewalld, '.services.firewalld') },
    lastEvent: event && { time: string(event.time, '.lastEvent.time'), what: string(event.what, '.lastEvent.what') },
    lastRepair: repair && {
      time: string(repair.time, '.lastRepair.time'),
      reason: string(repair.reason, '.lastRepair.reason'),
      actions: array(repair.actions, '.lastRepair.actions').map((a, i) => string(a, `.lastRepair.actions[${i}]`)),
      ...(repair.error === undefined ? {} : { error: string(repair.error, '.lastRepair.error') }),
    },
    repairs: integer(o.repairs, '.repairs', 0, Number.MAX_SAFE_INTEGER),
    nmManaged: map(o.nmManaged, '.nmManaged', (x, at) => nullable(x, at, boolean)),
    firewalldZone: map(o.firewalldZone, '.firewalldZone', (x, at) => nullable(x, at, string)),
    reloadsRequested: o.reloadsRequested === undefined ? 0 : count(o.reloadsRequested, '.reloadsRequested'),
    lastReload: reload && {
      covers: count(reload.covers, '.lastReload.covers'),
      time: string(reload.time, '.lastReload.time'),
      ok: boolean(reload.ok, '.lastReload.ok'),
      actions: strings(reload.actions, '.lastReload.actions'),
      ...(reload.error === undefined ? {} : { error: string(reload.error, '.lastReload.error') }),
    },
    configError: configError && {
      at: string(configError.at, '.configError.at'),
      message: string(configError.message, '.configError.message'),
      reload: boolean(configError.reload, '.configError.reload'),
    },
  };
  if (o.stopped !== undefined) status.stopped = string(o.stopped, '.stopped');
  return status;
}

/** The last status the listener wrote, or null when it never ran or the file is not what it writes. */
export function readListenerStatus(runDir: string): ListenerStatusView | null {
  const r = readRecord(listenerStatusPath(runDir), listenerStatus);
  if (r.kind !== 'ok') return null;
  const status = r.value;
  // pid_max is at most 2^22: a larger recorded pid is no live listener
  const running = !status.stopped && status.pid <= 2 ** 22 && pidAlive(status.pid);
  return { ...status, running };
}
