import { dirname, join, resolve } from 'node:path';
import { type Logger, makeLogger } from '../log.js';
import { makeRunner, type Runner } from '../sys/runner.js';

export const DEFAULT_CONFIG = '/etc/natnet-hook/config.toml';

/** Where everything lives for one invocation. */
export interface Context {
  configPath: string;
  /** Per-VM lease files: always beside the config file in use. */
  leasesDir: string;
  /** Volatile state: pid files, lock, applied records (/run/natnet-hook). */
  runDir: string;
  /** Persistent state: dnsmasq lease files, domain records (/var/lib/natnet-hook). */
  libDir: string;
  dryRun: boolean;
  runner: Runner;
  log: Logger;
}

export interface ContextOptions {
  config?: string;
  stateDir?: string;
  dryRun?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  log?: Logger;
  runner?: Runner;
  env?: NodeJS.ProcessEnv;
}

/** --config > NATNET_HOOK_CONFIG > default; --state-dir > NATNET_HOOK_STATE_DIR > /run + /var/lib. */
export function makeContext(opts: ContextOptions = {}): Context {
  const env = opts.env ?? process.env;
  const configPath = resolve(opts.config ?? env.NATNET_HOOK_CONFIG ?? DEFAULT_CONFIG);
  const stateDir = opts.stateDir ?? env.NATNET_HOOK_STATE_DIR;
  const log = opts.log ?? makeLogger({ verbose: opts.verbose, quiet: opts.quiet });
  const dryRun = opts.dryRun ?? false;
  return {
    configPath,
    leasesDir: join(dirname(configPath), 'leases.d'),
    runDir: stateDir ? join(resolve(stateDir), 'run') : '/run/natnet-hook',
    libDir: stateDir ? join(resolve(stateDir), 'lib') : '/var/lib/natnet-hook',
    dryRun,
    runner: opts.runner ?? makeRunner(log, dryRun),
    log,
  };
}
