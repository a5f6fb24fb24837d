import type { Context } from '../engine/context.js';
import type { DownOptions, NetworkChange, UpOptions } from '../engine/index.js';
import type { OurNetwork } from './network-cache.js';
import type { HookEvent } from './prefilter.js';

export type { HookEvent };

/** The engine calls a hook makes; injected so tests can use a fake. */
export interface HookEngine {
  up(ctx: Context, opts: UpOptions): Promise<NetworkChange[]>;
  /** Hooks pass onlyIfIdle: the engine judges idleness under its lock. */
  down(ctx: Context, opts: DownOptions): Promise<NetworkChange[]>;
}

export interface HookDeps {
  ctx: Context;
  engine: HookEngine;
  /** Configured networks (name + bridge), from the hook's cache. */
  networks: OurNetwork[];
  now?: () => Date;
}


export interface HookOutcome {
  /** Exit status for libvirt. Non-zero only where it must stop something (and never on reconnect). */
  exit: 0 | 1;
  action: string;
  vm?: string;
  network?: string;
  networks?: string[];
  /** One line: printed on stderr (exit 1) or only logged (exit 0). */
  error?: string;
  changes?: string[];
}

/** Any error as one line (ConfigError carries one line per problem). */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

export function changeLines(changes: NetworkChange[]): string[] {
  return changes.flatMap((c) => c.actions.map((a) => `${c.network}: ${a}`));
}
