import { existsSync } from 'node:fs';
import { listenerAutostartFile } from '../state/layout.js';
import { withEngineLock } from '../state/lock.js';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import type { Context } from '../engine/context.js';
import { desiredNetworks, type NetworksFrom, upLocked } from '../engine/index.js';
import { readRecords } from '../engine/records.js';
import { ConfigError, NatnetError } from '../errors.js';
import { fieldChanges } from '../plan/config-changes.js';
import type { Network } from '../model/types.js';
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
  desired: { name: string; autostart: boolean }[],
  applied: string[],
  includeAutostart: boolean,
): string[] {
  return desired.filter((n) => applied.includes(n.name) || (includeAutostart && n.autostart)).map((n) => n.name);
}

/** The config as loaded and validated now, or its problems (one line each). */
export function tryLoadConfig(ctx: Context): { config: LoadedConfig; problems: null } | { config: null; problems: string[] } {
  try {
    return { config: loadConfig(ctx), problems: null };
  } catch (e) {
    if (!(e instanceof NatnetError)) throw e;
    return { config: null, problems: e instanceof ConfigError ? e.message.split('\n') : [e.message] };
  }
}

/** What adopting `configured` changes in a network as `applied`: "natnet.firewall: iptables -> nftables". Pure. */
export function changedFields(applied: Network, configured: Network): string[] {
  return fieldChanges(applied, configured).map((c) => `${configured.name}.${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
}

/**
 * Where the listener's desired Networks come from: the config only when a valid config is being
 * adopted (SIGHUP, `natnet-hook reload`); otherwise the configuration last applied (the records).
 */
export function repairSource(adopt: boolean, configValid: boolean): NetworksFrom {
  return adopt && configValid ? 'config' : 'applied';
}

/**
 * The listener's repair: the engine's idempotent `up` under the host-wide lock. Drift is repaired
 * against the configuration last applied; the config file is adopted only on request (`adopt`).
 * Reservations and hook domain records come from the config as loaded now when it is valid,
 * else from the last valid one this listener loaded, so a half-edited file never drops them.
 */
export function makeEngineRepair(ctx: Context): RepairFn {
  let lastValid: LoadedConfig | null = null;
  return async ({ reason, autostart, adopt }) => {
    const bootAutostart = autostart && !existsSync(autostartMarker(ctx.runDir));
    const result = await withEngineLock(ctx, async () => {
      const loaded = tryLoadConfig(ctx);
      if (loaded.config) lastValid = loaded.config;
      const config = lastValid;
      if (!config) {
        throw new NatnetError(
          `${ctx.configPath} is invalid and no valid config was loaded since the listener started: nothing repaired (fix it, then natnet-hook reload)`,
        );
      }
      const from = repairSource(!!adopt, loaded.config !== null);
      const records = readRecords(ctx);
      const desired = desiredNetworks(config.networks, records, from);
      const names = networksToRepair(
        desired,
        records.map((r) => r.network.name),
        bootAutostart,
      );
      // only boot autostart is unconditional; the rest is re-checked by upLocked under this lock
      const autostartNow = bootAutostart ? desired.filter((n) => n.autostart).map((n) => n.name) : [];
      const changes =
        names.length > 0 ? await upLocked(ctx, config, { networks: autostartNow, ifApplied: names, reason: `listener: ${reason}`, networksFrom: from }) : [];
      const bridges = desired.filter((n) => names.includes(n.name)).map((n) => n.bridge);
      const adopted = from === 'config';
      const configChanges = adopted
        ? records.flatMap((r) => {
            const now = config.networks.find((n) => n.name === r.network.name);
            return now && names.includes(now.name) ? changedFields(r.network, now) : [];
          })
        : [];
      return { changes, bridges, problems: loaded.problems, adopted, configChanges };
    });
    if (bootAutostart && !ctx.dryRun) writeFileAtomic(autostartMarker(ctx.runDir), `${new Date().toISOString()}\n`);
    return {
      actions: result.changes.flatMap((c) => c.actions.map((a) => `${c.network}: ${a}`)),
      bridges: result.bridges,
      configProblems: result.problems,
      adopted: result.adopted,
      configChanges: result.configChanges,
    };
  };
}
