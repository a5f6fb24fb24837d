import type { HookKind } from '../argv/grammar.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseMainConfig } from '../config/parse.js';
import { Problems } from '../config/problems.js';
import type { InstalledKind } from './manifest.js';
import { layoutOf } from '../state/layout.js';
import { renderNmDropIn, renderShim, renderUnit } from './render.js';

export interface InstallFile {
  path: string;
  content: string;
  mode: number;
  kind: InstalledKind;
}

export interface InstallInputs {
  /** Everything goes below this directory ("/" on a real host). */
  root: string;
  /** The checkout/package holding dist/, hooks/ and install/. */
  appDir: string;
  node: string;
  /** Config file the hooks read; written from install/config.toml only if absent. */
  configPath: string;
  /** Baked into the hooks only when not the defaults. */
  bakedConfig: string | null;
  bakedStateDir: string | null;
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

/** Every file install writes, with content and mode (pure apart from reading templates and the config). */
export function installFiles(i: InstallInputs): InstallFile[] {
  const at = (p: string) => join(i.root, p);
  const shim = (kind: HookKind) =>
    renderShim(template(i.appDir, `hooks/${kind}`), {
      node: i.node,
      app: i.appDir.replace(/\/+$/, ''),
      config: i.bakedConfig,
      stateDir: i.bakedStateDir,
      logDir: layoutOf({ config: i.configPath, stateDir: i.bakedStateDir ?? undefined }, {}).logDir,
      bridges: configuredBridges(i.configPath),
    });
  const files: InstallFile[] = [
    { path: at('etc/libvirt/hooks/qemu.d/natnet-hook'), content: shim('qemu'), mode: 0o755, kind: 'hook' },
    { path: at('etc/libvirt/hooks/network.d/natnet-hook'), content: shim('network'), mode: 0o755, kind: 'hook' },
    { path: i.configPath, content: template(i.appDir, 'install/config.toml'), mode: 0o644, kind: 'config' },
    {
      path: at('etc/NetworkManager/conf.d/natnet-hook.conf'),
      content: renderNmDropIn(unmanagedInterfaces(i.configPath)),
      mode: 0o644,
      kind: 'system',
    },
    { path: at('etc/modules-load.d/natnet-hook.conf'), content: template(i.appDir, 'install/modules-load.d/natnet-hook.conf'), mode: 0o644, kind: 'system' },
    { path: at('etc/modprobe.d/natnet-hook.conf'), content: template(i.appDir, 'install/modprobe.d/natnet-hook.conf'), mode: 0o644, kind: 'system' },
    { path: at('etc/sysctl.d/60-natnet-hook.conf'), content: template(i.appDir, 'install/sysctl.d/60-natnet-hook.conf'), mode: 0o644, kind: 'system' },
  ];
  const unit = join(i.appDir, 'install/systemd/natnet-hook-listen.service');
  if (existsSync(unit)) {
    const args = [i.bakedConfig ? `--config ${i.bakedConfig}` : '', i.bakedStateDir ? `--state-dir ${i.bakedStateDir}` : ''].filter(Boolean).join(' ');
    files.push({
      path: at('etc/systemd/system/natnet-hook-listen.service'),
      content: renderUnit(readFileSync(unit, 'utf8'), { node: i.node, bin: join(i.appDir, 'bin/natnet-hook'), args }),
      mode: 0o644,
      kind: 'unit',
    });
  }
  return files;
}

/** Directories that must exist for these files, outermost first. */
export function neededDirs(files: InstallFile[]): string[] {
  const out = new Set<string>();
  for (const f of files) {
    const chain: string[] = [];
    for (let d = dirname(f.path); d !== dirname(d); d = dirname(d)) chain.unshift(d);
    for (const d of chain) out.add(d);
  }
  return [...out];
}
