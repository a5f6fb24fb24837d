import { dirname, join, resolve } from 'node:path';

/**
 * The paths a hook needs, resolved exactly like engine/context.ts makeContext does, but
 * without importing it: that module pulls in pino (~20 ms), and the hook for a VM that
 * is not ours must cost little more than `node -e 0`. test/unit/libvirt-hook-paths.test.ts
 * keeps the two in step.
 */
export const DEFAULT_CONFIG = '/etc/natnet-hook/config.toml';
export const DEFAULT_LOG_DIR = '/var/log/natnet-hook';

export interface HookOptions {
  config?: string;
  stateDir?: string;
}

export interface HookPaths {
  configPath: string;
  stateDir: string | null;
  runDir: string;
  libDir: string;
  /** hooks.log lives here: /var/log/natnet-hook, or <stateDir>/log. */
  logDir: string;
}

export function hookPaths(opts: HookOptions, env: NodeJS.ProcessEnv = process.env): HookPaths {
  const configPath = resolve(opts.config ?? env.NATNET_HOOK_CONFIG ?? DEFAULT_CONFIG);
  const sd = opts.stateDir ?? env.NATNET_HOOK_STATE_DIR;
  const stateDir = sd ? resolve(sd) : null;
  return {
    configPath,
    stateDir,
    runDir: stateDir ? join(stateDir, 'run') : '/run/natnet-hook',
    libDir: stateDir ? join(stateDir, 'lib') : '/var/lib/natnet-hook',
    logDir: stateDir ? join(stateDir, 'log') : DEFAULT_LOG_DIR,
  };
}

export function leasesDirOf(p: HookPaths): string {
  return join(dirname(p.configPath), 'leases.d');
}
