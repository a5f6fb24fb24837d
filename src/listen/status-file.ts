import { readFileSync } from 'node:fs';
import { listenerStatusFile } from '../state/layout.js';
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

/** The last status the listener wrote, or null when it never ran (or the file is unreadable). */
export function readListenerStatus(runDir: string): ListenerStatusView | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(listenerStatusPath(runDir), 'utf8'));
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const status = parsed as ListenerStatus;
  const running = Number.isInteger(status.pid) && status.pid > 0 && !status.stopped && pidAlive(status.pid);
  return { ...status, running };
}
