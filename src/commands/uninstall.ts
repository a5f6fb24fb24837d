import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Context, makeContext } from '../engine/context.js';
import { applyUninstall } from '../install/apply.js';
import { LISTENER_UNIT, reloadSystemd, stopListenerUnit } from '../install/listener-unit.js';
import { manifestPath, readManifest } from '../install/manifest.js';
import { insideRoot } from '../install/root-path.js';
import { reloadHookDaemons } from '../install/signal.js';
import { DEFAULT_CONFIG, DEFAULT_LIB_DIR, DEFAULT_LOG_DIR, DEFAULT_RUN_DIR, runtimeVersionDir } from '../state/layout.js';

export interface UninstallCommandOptions {
  root?: string;
  /** Also remove the config install wrote (or the default one), leases.d/, state and logs. */
  purge?: boolean;
  signal?: boolean;
  /** `systemctl disable --now` the listener unit before removing it (default: root is / and systemd runs). */
  stopListener?: boolean;
  print?: (line: string) => void;
}

/**
 * What --purge removes besides the manifest's files, all inside the root: leases.d beside a
 * config install wrote or the default config, and the default state, run and log dirs. A
 * --config or --state-dir given to install is the admin's place: named, never removed.
 */
function purgeTargets(root: string, configFiles: string[], stateDir: string | null): { remove: string[]; keep: string[] } {
  const configs = [...configFiles, DEFAULT_CONFIG.slice(1)];
  const remove = [...new Set(configs.map((c) => insideRoot(root, c)).filter((p): p is string => p !== null))];
  const leases = remove.map((c) => join(dirname(c), 'leases.d'));
  const state = [DEFAULT_LIB_DIR, DEFAULT_RUN_DIR, DEFAULT_LOG_DIR].map((d) => insideRoot(root, d.slice(1))).filter((p): p is string => p !== null);
  return { remove: [...remove, ...leases, ...state], keep: stateDir ? [stateDir] : [] };
}

/**
 * `natnet-hook uninstall [--root DIR] [--purge]`: stops the listener service, takes down every
 * network still applied (with the config/state the hooks used), removes exactly the files, links
 * and runtime the manifest lists, and our empty dirs. Never the root itself, never outside it.
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
    for (const f of m.files) print(`would remove ${join(root, f.path)}`);
    for (const l of m.links) print(`would remove ${join(root, l.path)}`);
    for (const v of m.runtimes) print(`would remove ${join(root, runtimeVersionDir(v))}/`);
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
  const purge = opts.purge ? purgeTargets(root, m.files.filter((f) => f.kind === 'config').map((f) => f.path), m.stateDir) : null;
  // before the files and dirs, so the directories they empty are removed with ours
  if (purge) {
    for (const p of purge.remove) {
      if (!existsSync(p)) continue;
      rmSync(p, { recursive: true, force: true });
      print(`purged ${p}`);
    }
    for (const p of purge.keep) print(`kept ${p} (the --state-dir given to install; remove it yourself)`);
  }
  const r = applyUninstall(root, m, opts.purge ?? false);
  for (const p of r.removed) print(`removed ${p}`);
  for (const p of r.kept) print(`kept ${p}`);
  if (listener.ran) await reloadSystemd(ctx.runner);
  if (opts.signal ?? root === '/') {
    const hupped = reloadHookDaemons();
    if (hupped.length) print(`libvirt reloads hooks: SIGHUP ${hupped.join(', ')}`);
  }
}
