import { existsSync } from 'node:fs';
import { listenerAutostartFile } from '../state/layout.js';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { loadConfig } from '../config/load.js';
import type { Context } from '../engine/context.js';
import { appliedNetworks, up } from '../engine/index.js';
import type { RepairFn } from './listener.js';

/**
 * Autostart is a boot-time action, like libvirt's net-autostart: once done, a listener
 * restarted later in the same boot must not bring back a network the admin took down.
 * The marker lives in the run dir (tmpfs, emptied at boot).
 */
export function autostartMarker(runDir: string): string {
  return listenerAutostartFile({ runDir });
}

/** Networks to keep right: those applied on this host, plus autostart ones at boot. */
export function networksToRepair(
  configured: { name: string; autostart: boolean }[],
  applied: string[],
  includeAutostart: boolean,
): string[] {
  return configured.filter((n) => applied.includes(n.name) || (includeAutostart && n.autostart)).map((n) => n.name);
}

/** The listener's repair: the engine's idempotent `up` (which takes the host-wide lock). */
export function makeEngineRepair(ctx: Context): RepairFn {
  return async ({ reason, autostart }) => {
    const config = loadConfig(ctx);
    const bootAutostart = autostart && !existsSync(autostartMarker(ctx.runDir));
    const names = networksToRepair(config.networks, appliedNetworks(ctx), bootAutostart);
    const bridges = config.networks.filter((n) => names.includes(n.name)).map((n) => n.bridge);
    // only boot autostart is unconditional; the rest is re-checked under the lock, so a `down`
    // that ran while this repair waited for the lock is not undone
    const autostartNow = bootAutostart ? config.networks.filter((n) => n.autostart).map((n) => n.name) : [];
    const changes =
      names.length > 0 ? await up(ctx, { networks: autostartNow, ifApplied: names, reason: `listener: ${reason}` }) : [];
    if (bootAutostart && !ctx.dryRun) writeFileAtomic(autostartMarker(ctx.runDir), `${new Date().toISOString()}\n`);
    return { actions: changes.flatMap((c) => c.actions.map((a) => `${c.network}: ${a}`)), bridges };
  };
}
