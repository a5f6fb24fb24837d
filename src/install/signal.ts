import { readFileSync } from 'node:fs';

/** Daemons that read libvirt hooks at start and on SIGHUP (monolithic libvirtd, or the modular ones). */
export const HOOK_DAEMON_PID_FILES = ['/run/libvirtd.pid', '/run/libvirt/virtqemud.pid', '/run/libvirt/virtnetworkd.pid'];

/** SIGHUP each running daemon so it notices new or removed hooks. Returns what was signalled. */
export function reloadHookDaemons(pidFiles = HOOK_DAEMON_PID_FILES): string[] {
  const done: string[] = [];
  for (const file of pidFiles) {
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      continue;
    }
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      process.kill(pid, 'SIGHUP');
      done.push(`${file} (pid ${pid})`);
    } catch {
      // stale pid file
    }
  }
  return done;
}
