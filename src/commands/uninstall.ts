import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Context, makeContext } from '../engine/context.js';
import { applyUninstall } from '../install/apply.js';
import { LISTENER_UNIT, reloadSystemd, stopListenerUnit } from '../install/listener-unit.js';
import { manifestPath, readManifest } from '../install/manifest.js';
import { reloadHookDaemons } from '../install/signal.js';

export interface UninstallCommandOptions {
  root?: string;
  /** Also remove the config, leases.d/, state and logs. */
  purge?: boolean;
  signal?: boolean;
  /** `systemctl disable --now` the listener unit before removing it (default: root is / and systemd runs). */
  stopListener?: boolean;
  print?: (line: string) => void;
}

/**
 * `natnet-hook uninstall [--root DIR] [--purge]`: stops the listener service, takes down every
 * network still applied (with the config/state the hooks used), removes exactly the files the
 * manifest lists, and our empty dirs.
 */
export async function runUninstall(ctx: Context, opts: UninstallCommandOptions = {}): Promise<void> {
  const print = opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const root = resolve(opts.root ?? '/');
  const m = readManifest(root);
  if (!m) {
    print(`natnet-hook is not installed under ${root} (no ${manifestPath(root)})`);
    return;
  }
  const hasUnit = m.files.some((f) => f.kind === 'unit');
  // /run/systemd/system exists only when systemd is PID 1 (sd_booted): elsewhere nothing runs the unit
  const stopListener = hasUnit && (opts.stopListener ?? (root === '/' && existsSync('/run/systemd/system')));
  if (ctx.dryRun) {
    if (stopListener) print(`would run systemctl disable --now ${LISTENER_UNIT}`);
    for (const f of m.files) print(`would remove ${f.path}`);
    return;
  }
  // first, or it would repair the networks taken down below
  const listener = stopListener ? await stopListenerUnit(ctx.runner) : { ran: false, line: null };
  if (listener.line) print(listener.line);
  const hookCtx = makeContext({ config: m.config, stateDir: m.stateDir ?? undefined, log: ctx.log, runner: ctx.runner, env: {} });
  // under another root without its own state dir, the default state is the host's: not ours to touch
  const ownsState = root === '/' || m.stateDir !== null;
  const [{ appliedNetworks, down }, { quarantinedNetworks }] = await Promise.all([import('../engine/index.js'), import('../engine/records.js')]);
  // every applied network, also one whose record was set aside as bad (down says what it left)
  if (ownsState && (appliedNetworks(hookCtx).length > 0 || quarantinedNetworks(hookCtx).length > 0)) {
    for (const c of await down(hookCtx, { reason: 'uninstall' })) print(`down ${c.network}: ${c.actions.length} action(s)`);
  }
  if (opts.purge) {
    rmSync(hookCtx.leasesDir, { recursive: true, force: true });
    rmSync(m.config, { force: true });
    print(`purged ${hookCtx.leasesDir} ${m.config}`);
  }
  const r = applyUninstall(m, opts.purge ?? false, manifestPath(root));
  for (const p of r.removed) print(`removed ${p}`);
  for (const p of r.kept) print(`kept ${p}`);
  if (listener.ran) await reloadSystemd(ctx.runner);
  if (opts.purge) {
    const state = ownsState ? [hookCtx.libDir, hookCtx.runDir, hookCtx.logDir] : [];
    for (const d of state) {
      rmSync(d, { recursive: true, force: true });
      print(`purged ${d}`);
    }
  }
  if (opts.signal ?? root === '/') {
    const hupped = reloadHookDaemons();
    if (hupped.length) print(`libvirt reloads hooks: SIGHUP ${hupped.join(', ')}`);
  }
}
