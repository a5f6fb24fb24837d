import type { Runner } from '../sys/runner.js';

export const LISTENER_UNIT = 'natnet-hook-listen.service';

/**
 * Stop and disable the listener before its unit file goes: otherwise a running listener keeps
 * repairing networks uninstall just took down. Never fails the uninstall: no systemctl (127) or
 * no systemd running only means there is nothing to stop. Returns what to tell the user.
 */
export async function stopListenerUnit(runner: Runner): Promise<{ ran: boolean; line: string | null }> {
  let r: Awaited<ReturnType<Runner['run']>>;
  try {
    r = await runner.run(['systemctl', 'disable', '--now', LISTENER_UNIT], { allowFailure: true });
  } catch (e) {
    // a timed-out systemctl throws even with allowFailure: warn, and go on uninstalling
    return { ran: true, line: `warning: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (r.code === 127) return { ran: false, line: null };
  if (r.code === 0) return { ran: true, line: `stopped and disabled ${LISTENER_UNIT}` };
  const why = r.stderr.trim().split('\n')[0] ?? '';
  return { ran: true, line: `warning: systemctl disable --now ${LISTENER_UNIT} failed (exit ${r.code})${why ? `: ${why}` : ''}` };
}

/** After the unit file is removed, so systemd forgets it. */
export async function reloadSystemd(runner: Runner): Promise<void> {
  try {
    await runner.run(['systemctl', 'daemon-reload'], { allowFailure: true });
  } catch {
    // a hung daemon-reload: systemd reloads on its own at the next boot
  }
}
