import { type Logger, makeLogger } from '../log.js';
import { type Layout, layoutOf } from '../state/layout.js';
import { makeRunner, type Runner } from '../sys/runner.js';

export { DEFAULT_CONFIG } from '../state/layout.js';

/** Where everything lives for one invocation. */
export interface Context extends Layout {
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
  /** --log-format (log/format.ts). */
  logFormat?: string;
  log?: Logger;
  runner?: Runner;
  env?: NodeJS.ProcessEnv;
}

/** --config > NATNET_HOOK_CONFIG > default; --state-dir > NATNET_HOOK_STATE_DIR > /run + /var/lib. */
export function makeContext(opts: ContextOptions = {}): Context {
  const env = opts.env ?? process.env;
  const log = opts.log ?? makeLogger({ verbose: opts.verbose, quiet: opts.quiet, format: opts.logFormat, env });
  const dryRun = opts.dryRun ?? false;
  return {
    ...layoutOf(opts, env),
    dryRun,
    runner: opts.runner ?? makeRunner(log, dryRun),
    log,
  };
}
