import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Context, DEFAULT_CONFIG } from '../engine/context.js';
import { applyInstall, InstallError } from '../install/apply.js';
import { disableDefaultNetwork } from '../install/default-network.js';
import { installedLibvirtVersion, supportsHookDirs } from '../install/libvirt-version.js';
import { installFiles } from '../install/plan.js';
import { reloadHookDaemons } from '../install/signal.js';

export interface InstallCommandOptions {
  /** Install below this directory instead of / (tests, packaging). */
  root?: string;
  /** node for the hooks' #! line (default: the node running this). */
  node?: string;
  /** SIGHUP libvirtd/virtqemud/virtnetworkd (default: only when root is /). */
  signal?: boolean;
  disableLibvirtDefaultNetwork?: boolean;
  /** libvirt connection for --disable-libvirt-default-network. */
  libvirtUri?: string;
  /** Where output lines go (default stdout). */
  print?: (line: string) => void;
}

/** The checkout or package: holds dist/, hooks/ and install/. */
export const APP_DIR = fileURLToPath(new URL('../../', import.meta.url));

/** Paths baked into the hooks, and the config file to create: see README "Install". */
export function installPaths(ctx: Context, root: string) {
  const configGiven = ctx.configPath !== DEFAULT_CONFIG;
  const stateGiven = ctx.runDir !== '/run/natnet-hook';
  return {
    configPath: configGiven ? ctx.configPath : join(root, DEFAULT_CONFIG),
    bakedConfig: configGiven ? ctx.configPath : null,
    bakedStateDir: stateGiven ? dirname(ctx.runDir) : null,
  };
}

/**
 * `natnet-hook install [--root DIR] [--disable-libvirt-default-network]`: hooks into
 * /etc/libvirt/hooks/{qemu,network}.d/, the default config (only if absent), the NetworkManager
 * drop-in, the handbook's modprobe/modules-load/sysctl files, the listener's unit, a manifest.
 */
export async function runInstall(ctx: Context, opts: InstallCommandOptions = {}): Promise<void> {
  const print = opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const root = resolve(opts.root ?? '/');
  const paths = installPaths(ctx, root);
  if (root === '/') {
    const v = await installedLibvirtVersion(ctx.runner);
    if (v && !supportsHookDirs(v)) {
      throw new InstallError(
        `libvirt ${v.join('.')} runs only /etc/libvirt/hooks/qemu and network (qemu.d/ and network.d/ need libvirt >= 6.5); natnet-hook does not replace those scripts: upgrade libvirt, or call hooks/qemu and hooks/network from your own scripts`,
      );
    }
  }
  const files = installFiles({ root, appDir: APP_DIR, node: opts.node ?? process.execPath, ...paths });
  if (ctx.dryRun) {
    for (const f of files) print(`would write ${f.path} (${f.mode.toString(8)})`);
  } else {
    const r = applyInstall(root, files, { config: paths.configPath, stateDir: paths.bakedStateDir });
    for (const p of r.written) print(`installed ${p}`);
    for (const p of r.kept) print(`kept ${p}`);
    for (const w of r.warnings) print(`warning: ${w}`);
  }
  if (opts.signal ?? root === '/') {
    const hupped = ctx.dryRun ? [] : reloadHookDaemons();
    print(hupped.length ? `libvirt reloads hooks: SIGHUP ${hupped.join(', ')}` : 'no libvirt daemon running: hooks take effect when it starts');
  }
  if (opts.disableLibvirtDefaultNetwork) {
    for (const l of await disableDefaultNetwork(ctx.runner, opts.libvirtUri ?? 'qemu:///system')) print(l);
  }
}
