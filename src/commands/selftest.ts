import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../engine/context.js';
import { FIREWALLS } from '../model/types.js';
import { NatnetError, UsageError } from '../errors.js';
import { unexpected } from '../report.js';
import type { Exec } from '../selftest/exec.js';
import type { FirewallChoice, SelftestIpv6 } from '../selftest/config.js';

export interface SelftestCommandOptions {
  /** Test this backend instead of the default config's choice. */
  firewall?: FirewallChoice;
}

/**
 * `natnet-hook selftest`: prints a PASS/FAIL table; returns (and sets process.exitCode to)
 * 0 when every check passed, 1 otherwise.
 */
export async function runSelftest(ctx: Context, opts: SelftestCommandOptions = {}): Promise<number> {
  if (ctx.dryRun) throw new UsageError('selftest builds real namespaces; it has no --dry-run');
  if (process.getuid?.() !== 0) throw new UsageError('selftest needs root (it creates network namespaces)');
  if (opts.firewall && !(FIREWALLS as readonly string[]).includes(opts.firewall)) {
    throw new UsageError(`--firewall ${opts.firewall}: expected ${FIREWALLS.join(', ')}`);
  }
  const { selftest } = await import('../selftest/run.js');
  const ipv6 = await configuredIpv6(ctx);
  const exec: Exec = (argv, o) => ctx.runner.run(argv, { ...o, allowFailure: true });
  const results = await selftest(exec, {
    bin: findBin(dirname(fileURLToPath(import.meta.url))),
    nodePath: process.execPath,
    firewall: opts.firewall,
    ipv6,
  });
  const code = results.every((r) => r.ok) ? 0 : 1;
  if (code !== 0) process.exitCode = code;
  return code;
}

/**
 * The IPv6 side the selftest network gets: like the config's first network with `ipv6` set
 * (mode and DHCPv6), none without one. A config that cannot be read only loses the IPv6 checks:
 * the selftest does not use the config otherwise.
 */
async function configuredIpv6(ctx: Context): Promise<SelftestIpv6 | null> {
  const { loadConfig } = await import('../config/load.js');
  const { selftestIpv6Of } = await import('../selftest/config.js');
  try {
    return selftestIpv6Of(loadConfig(ctx).networks);
  } catch (e) {
    ctx.log.warn(`selftest checks IPv4 only: the config is not usable (${unexpected(e)})`);
    return null;
  }
}

/** bin/natnet-hook of the installation this module belongs to (dist/ or a bundle below it). */
function findBin(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const bin = join(dir, 'bin', 'natnet-hook');
    if (existsSync(bin) && existsSync(join(dir, 'package.json'))) return bin;
  }
  throw new NatnetError(`no bin/natnet-hook above ${from}: run selftest from an installed or built natnet-hook`);
}
