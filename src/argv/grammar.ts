/**
 * The ONE declaration of natnet-hook's global options. The fast paths (src/argv/fast.ts, with
 * node:util parseArgs) and commander (src/program.ts) are both built from it, and
 * test/unit/argv-grammar.test.ts runs both on the same argv. No imports beyond types: the
 * CommonJS fast bundle loads this on every run.
 */
import type { ParseArgsConfig } from 'node:util';

/** What the global options set (a subset of the engine's ContextOptions). */
export interface Globals {
  config?: string;
  stateDir?: string;
  dryRun?: boolean;
  verbose?: boolean;
  /** 'human' or 'json' (checked by log/format.ts, which names the fix). */
  logFormat?: string;
}

export interface GlobalOption {
  /** Long name without dashes; also the parseArgs key. */
  long: string;
  short?: string;
  /** Placeholder of the value (`<path>`); absent for a flag. */
  value?: string;
  key: keyof Globals;
  description: string;
  /** The only values the option takes (completion offers them). */
  choices?: readonly string[];
}

/** How log lines look on stderr (src/log/format.ts): plain lines for a person, or JSON lines. */
export const LOG_FORMATS = ['human', 'json'] as const;

export const GLOBAL_OPTIONS: readonly GlobalOption[] = [
  {
    long: 'config',
    short: 'c',
    value: 'path',
    key: 'config',
    description: 'config file (env NATNET_HOOK_CONFIG; default /etc/natnet-hook/config.toml)',
  },
  {
    long: 'state-dir',
    value: 'dir',
    key: 'stateDir',
    description: 'state directory instead of /run/natnet-hook + /var/lib/natnet-hook (env NATNET_HOOK_STATE_DIR)',
  },
  { long: 'dry-run', short: 'n', key: 'dryRun', description: 'print what would be done, change nothing' },
  { long: 'verbose', short: 'v', key: 'verbose', description: 'debug logs' },
  {
    long: 'log-format',
    value: 'format',
    key: 'logFormat',
    choices: LOG_FORMATS,
    description: 'human or json (env NATNET_HOOK_LOG_FORMAT; default: human on a terminal, json otherwise)',
  },
];

/** The global options a hook takes: the rest make no sense for what libvirt runs. */
export const HOOK_GLOBALS: ReadonlySet<keyof Globals> = new Set(['config', 'stateDir']);

/** libvirt's hook kinds: `natnet-hook hook qemu|network OBJECT OPERATION SUB-OP EXTRA`. */
export const HOOK_KINDS = ['qemu', 'network'] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

export function isHookKind(word: string | undefined): word is HookKind {
  return (HOOK_KINDS as readonly (string | undefined)[]).includes(word);
}

/** commander's flags string: `-c, --config <path>`. */
export function commanderFlags(o: GlobalOption): string {
  return `${o.short ? `-${o.short}, ` : ''}--${o.long}${o.value ? ` <${o.value}>` : ''}`;
}

/** node:util parseArgs' options for the global options. */
export function parseArgsOptions(): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const o of GLOBAL_OPTIONS) out[o.long] = { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}) };
  return out;
}

/** An empty path would silently mean "the default": both parsers refuse it. */
export function isRefusedValue(o: GlobalOption, value: string): boolean {
  return o.value !== undefined && value === '';
}

/** What one argv asks for, whichever parser read it. */
export interface Invocation {
  /** Command path: ['up'], ['lease', 'add'], ['hook']. */
  command: string[];
  /** The command's arguments as given (for hook: the kind, then libvirt's argv). */
  operands: string[];
  /** The command's own options (--json, --mac, ...). */
  options: Record<string, unknown>;
  globals: Globals;
}
