import type { HookKind } from '../argv/grammar.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { parseMainConfig } from '../config/parse.js';
import { Problems } from '../config/problems.js';
import type { InstalledKind } from './manifest.js';
import { ADMIN_UNIT_DIR, CURRENT_BIN, DEFAULT_CONFIG, layoutOf, PACKAGED_UNIT_DIR, RUNTIME_CURRENT } from '../state/layout.js';
import { LISTENER_UNIT } from './listener-unit.js';
import { renderNmDropIn, renderShim, renderUnit } from './render.js';

export interface InstallFile {
  /** Relative to the install root. */
  path: string;
  content: string;
  mode: number;
  kind: InstalledKind;
}

export interface InstallInputs {
  /** Everything goes below this directory ("/" on a real host). */
  root: string;
  /** Where the templates (hooks/, install/) are read from: the runtime being installed. */
  appDir: string;
  node: string;
  /** Config file the hooks read; written from install/config.toml only if absent (and inside the root). */
  configPath: string;
  /** Baked only when not the defaults. */
  bakedConfig: string | null;
  bakedStateDir: string | null;
  /** Only what a distribution package ships (the unit in usr/lib/systemd/system); its postinst runs install for the rest. */
  packaged?: boolean;
  /** The runtime as the hooks see it (default /usr/lib/natnet-hook/current; a sandbox that sees the root elsewhere differs). */
  app?: string;
}

function template(appDir: string, rel: string): string {
  return readFileSync(join(appDir, rel), 'utf8');
}

function configuredNetworks(configPath: string) {
  let text = '';
  try {
    text = readFileSync(configPath, 'utf8');
  } catch {
    // no config yet: the default network
  }
  return parseMainConfig(text, new Problems(configPath)).networks;
}

/** Interfaces NetworkManager must leave alone: every configured bridge and dummy (default network if no config). */
export function unmanagedInterfaces(configPath: string): string[] {
  return configuredNetworks(configPath).flatMap((n) => (n.dummy ? [n.bridge, n.dummy] : [n.bridge]));
}

/** The bridges baked into the hooks: what they let through unchecked when natnet-hook cannot load (see hooks/shim.template). */
export function configuredBridges(configPath: string): string[] {
  return [...new Set(configuredNetworks(configPath).map((n) => n.bridge))];
}

/** The listener unit as install renders it: node by absolute path, the installed bin through `current`. */
export function listenerUnit(i: Pick<InstallInputs, 'appDir' | 'node' | 'bakedConfig' | 'bakedStateDir'>): string | null {
  const unit = join(i.appDir, 'install/systemd', LISTENER_UNIT);
  if (!existsSync(unit)) return null;
  // each baked option ends in a space: the template reads `@BIN@ @ARGS@listen`
  const args = [i.bakedConfig ? `--config ${i.bakedConfig} ` : '', i.bakedStateDir ? `--state-dir ${i.bakedStateDir} ` : ''].join('');
  // ProtectSystem=strict: what the listener writes besides the unit's own state/run/log dirs ("-": may be absent)
  const rw = [`-${dirname(i.bakedConfig ?? DEFAULT_CONFIG)}`, ...(i.bakedStateDir ? [`-${i.bakedStateDir}`] : [])];
  return renderUnit(readFileSync(unit, 'utf8'), { node: i.node, bin: `/${CURRENT_BIN}`, args, rwPaths: rw.join(' ') });
}

/** Every file install writes, paths relative to the root, with content and mode (pure apart from reading templates and the config). */
export function installFiles(i: InstallInputs): InstallFile[] {
  const unit = listenerUnit(i);
  if (i.packaged) return unit === null ? [] : [{ path: `${PACKAGED_UNIT_DIR}/${LISTENER_UNIT}`, content: unit, mode: 0o644, kind: 'unit' }];
  const shim = (kind: HookKind) =>
    renderShim(template(i.appDir, `hooks/${kind}`), {
      node: i.node,
      app: i.app ?? `/${RUNTIME_CURRENT}`,
      config: i.bakedConfig,
      stateDir: i.bakedStateDir,
      logDir: layoutOf({ config: i.configPath, stateDir: i.bakedStateDir ?? undefined }, {}).logDir,
      bridges: configuredBridges(i.configPath),
    });
  const configRel = relative(i.root, i.configPath);
  const files: InstallFile[] = [
    { path: 'etc/libvirt/hooks/qemu.d/natnet-hook', content: shim('qemu'), mode: 0o755, kind: 'hook' },
    { path: 'etc/libvirt/hooks/network.d/natnet-hook', content: shim('network'), mode: 0o755, kind: 'hook' },
    // a --config outside the root is the admin's: never written nor recorded
    ...(configRel.startsWith('..') || isAbsolute(configRel) ? [] : [{ path: configRel, content: template(i.appDir, 'install/config.toml'), mode: 0o644, kind: 'config' as const }]),
    {
      path: 'etc/NetworkManager/conf.d/natnet-hook.conf',
      content: renderNmDropIn(unmanagedInterfaces(i.configPath)),
      mode: 0o644,
      kind: 'system',
    },
    { path: 'etc/modules-load.d/natnet-hook.conf', content: template(i.appDir, 'install/modules-load.d/natnet-hook.conf'), mode: 0o644, kind: 'system' },
    { path: 'etc/modprobe.d/natnet-hook.conf', content: template(i.appDir, 'install/modprobe.d/natnet-hook.conf'), mode: 0o644, kind: 'system' },
    { path: 'etc/sysctl.d/60-natnet-hook.conf', content: template(i.appDir, 'install/sysctl.d/60-natnet-hook.conf'), mode: 0o644, kind: 'system' },
  ];
  // a package's unit in usr/lib/systemd/system that is already this one needs no copy in /etc
  const packagedUnit = join(i.root, PACKAGED_UNIT_DIR, LISTENER_UNIT);
  if (unit !== null && !(existsSync(packagedUnit) && readFileSync(packagedUnit, 'utf8') === unit)) {
    files.push({ path: `${ADMIN_UNIT_DIR}/${LISTENER_UNIT}`, content: unit, mode: 0o644, kind: 'unit' });
  }
  return files;
}

/** Directories (relative to the root, never the root itself) that must exist for these files, outermost first. */
export function neededDirs(paths: string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    const chain: string[] = [];
    for (let d = dirname(p); d !== '.' && d !== '/' && d !== ''; d = dirname(d)) chain.unshift(d);
    for (const d of chain) out.add(d);
  }
  return [...out];
}
