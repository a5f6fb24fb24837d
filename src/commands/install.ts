import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { type Context, DEFAULT_CONFIG } from '../engine/context.js';
import { UsageError } from '../errors.js';
import { applyInstall, InstallError } from '../install/apply.js';
import { disableDefaultNetwork } from '../install/default-network.js';
import { installedLibvirtVersion, supportsHookDirs } from '../install/libvirt-version.js';
import { LISTENER_UNIT } from '../install/listener-unit.js';
import { readManifest } from '../install/manifest.js';
import { chooseNode } from '../install/node-path.js';
import { installFiles, neededDirs } from '../install/plan.js';
import { installRuntime } from '../install/runtime.js';
import { reloadHookDaemons } from '../install/signal.js';
import { RUNTIME_CURRENT, runtimeVersionDir, SBIN_LINK } from '../state/layout.js';
import { VERSION } from '../version.js';

export interface InstallCommandOptions {
  /** Install below this directory instead of / (tests, packaging). */
  root?: string;
  /** node for the hooks' #! line and the unit (default: /usr/bin/node when >= 20, else the running node). */
  node?: string;
  /** Only what a distribution package ships: the runtime, its links and the unit in usr/lib/systemd/system. */
  package?: boolean;
  /**
   * The installed runtime as the hooks see it (default /usr/lib/natnet-hook/current: paths are the
   * target's, so --root builds an image or package tree). API only: a test sandbox that shows the
   * hooks <root>/etc/libvirt but not <root>/usr passes <root>/usr/lib/natnet-hook/current.
   */
  hookApp?: string;
  /** SIGHUP libvirtd/virtqemud/virtnetworkd (default: only when root is /). */
  signal?: boolean;
  disableLibvirtDefaultNetwork?: boolean;
  /** libvirt connection for --disable-libvirt-default-network. */
  libvirtUri?: string;
  /** Where output lines go (default stdout). */
  print?: (line: string) => void;
}

/** The checkout, npm package or installed version dir natnet-hook runs from: holds dist/, hooks/ and install/. */
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
 * `natnet-hook install [--root DIR] [--node PATH] [--package] [--disable-libvirt-default-network]`:
 * the runtime in /usr/lib/natnet-hook/<version>/ (+ current, /usr/sbin/natnet-hook), hooks into
 * /etc/libvirt/hooks/{qemu,network}.d/, the default config (only if absent), the NetworkManager
 * drop-in, the handbook's modprobe/modules-load/sysctl files, the listener's unit, a manifest.
 */
export async function runInstall(ctx: Context, opts: InstallCommandOptions = {}): Promise<void> {
  const print = opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const root = resolve(opts.root ?? '/');
  if (opts.package && root === '/') throw new UsageError('--package lays out a package tree: give it --root DIR');
  const paths = installPaths(ctx, root);
  if (root === '/') {
    const v = await installedLibvirtVersion(ctx.runner);
    if (v && !supportsHookDirs(v)) {
      throw new InstallError(
        `libvirt ${v.join('.')} runs only /etc/libvirt/hooks/qemu and network (qemu.d/ and network.d/ need libvirt >= 6.5); natnet-hook does not replace those scripts: upgrade libvirt, or call hooks/qemu and hooks/network from your own scripts`,
      );
    }
  }
  const { node, line } = await chooseNode(ctx.runner, opts.node);
  print(line);
  const files = installFiles({ root, appDir: APP_DIR, node, ...paths, packaged: opts.package, app: opts.hookApp });
  if (ctx.dryRun) {
    print(`would install the runtime ${APP_DIR.replace(/\/+$/, '')} as ${join(root, runtimeVersionDir(VERSION))}, switch ${join(root, RUNTIME_CURRENT)} to it, link ${join(root, SBIN_LINK)}`);
    for (const f of files) print(`would write ${join(root, f.path)} (${f.mode.toString(8)})`);
    return;
  }
  mkdirSync(root, { recursive: true });
  const old = opts.package ? null : readManifest(root);
  if (opts.package) {
    for (const l of installRuntime(root, APP_DIR, VERSION, node, null).lines) print(l);
    for (const f of files) {
      for (const d of neededDirs([f.path])) if (!existsSync(join(root, d))) mkdirSync(join(root, d), { mode: 0o755 });
      writeFileAtomic(join(root, f.path), f.content, f.mode);
      print(`installed ${join(root, f.path)}`);
    }
    return;
  }
  const r = applyInstall(root, files, old, () => installRuntime(root, APP_DIR, VERSION, node, old), { config: paths.bakedConfig ?? DEFAULT_CONFIG, stateDir: paths.bakedStateDir });
  for (const l of r.lines) print(l);
  for (const w of r.warnings) print(`warning: ${w}`);
  // a listener already running keeps the version it started with
  if (root === '/' && existsSync('/run/systemd/system') && r.lines.some((l) => l.startsWith(`switched ${join(root, RUNTIME_CURRENT)}`) || l.startsWith(`updated ${join(root, runtimeVersionDir(VERSION))}`))) {
    print(`the listener runs the new version after: systemctl restart ${LISTENER_UNIT}`);
  }
  if (opts.signal ?? root === '/') {
    const hupped = reloadHookDaemons();
    print(hupped.length ? `libvirt reloads hooks: SIGHUP ${hupped.join(', ')}` : 'no libvirt daemon running: hooks take effect when it starts');
  }
  if (opts.disableLibvirtDefaultNetwork) {
    for (const l of await disableDefaultNetwork(ctx.runner, opts.libvirtUri ?? 'qemu:///system')) print(l);
  }
}
