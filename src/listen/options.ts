import { type ConfigProblem, ConfigError } from '../errors.js';

/** The listener's settings: `[listener]` table of the config file, overridden by CLI options. */
export interface ListenerOptions {
  /** Periodic check interval in ms; 0 disables it. */
  intervalMs: number;
  /** firewalld zone for our bridges; null = leave firewalld zones alone. */
  firewalldZone: string | null;
}

export const DEFAULT_INTERVAL_S = 30;
export const DEFAULT_FIREWALLD_ZONE = 'trusted';
const KEYS = ['interval', 'firewalld_zone'];
const ZONE_NAME = /^[A-Za-z0-9_+-]{1,17}$/; // firewalld zone names are at most 17 characters

export interface ListenerOverrides {
  /** Seconds, from --interval. */
  interval?: number | string;
  /** From --firewalld-zone ("none" disables). */
  firewalldZone?: string;
}

function parseInterval(v: unknown, field: string, file: string, out: ConfigProblem[]): number | null {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || (n > 0 && n < 1) || n > 86_400) {
    out.push({ file, field, value: v, expected: 'expected seconds between 1 and 86400, or 0 to disable the periodic check' });
    return null;
  }
  return Math.round(n * 1000);
}

function parseZone(v: unknown, field: string, file: string, out: ConfigProblem[]): string | null | undefined {
  if (v === false || v === 'none') return null;
  if (typeof v === 'string' && ZONE_NAME.test(v)) return v;
  out.push({ file, field, value: v, expected: 'expected a firewalld zone name (letters, digits, _ + -; at most 17), or false/"none" to leave zones alone' });
  return undefined;
}

/** Validate the raw [listener] table (as the config loader returns it) and CLI overrides. Throws ConfigError. */
export function resolveListenerOptions(raw: Record<string, unknown>, file: string, cli: ListenerOverrides = {}): ListenerOptions {
  const problems: ConfigProblem[] = [];
  for (const k of Object.keys(raw)) {
    if (!KEYS.includes(k)) problems.push({ file, field: `listener.${k}`, value: raw[k], expected: `unknown key (known: ${KEYS.join(', ')})` });
  }
  let intervalMs = DEFAULT_INTERVAL_S * 1000;
  let firewalldZone: string | null = DEFAULT_FIREWALLD_ZONE;
  if (raw.interval !== undefined) intervalMs = parseInterval(raw.interval, 'listener.interval', file, problems) ?? intervalMs;
  if (raw.firewalld_zone !== undefined) {
    const z = parseZone(raw.firewalld_zone, 'listener.firewalld_zone', file, problems);
    if (z !== undefined) firewalldZone = z;
  }
  if (cli.interval !== undefined) intervalMs = parseInterval(cli.interval, '--interval', '(command line)', problems) ?? intervalMs;
  if (cli.firewalldZone !== undefined) {
    const z = parseZone(cli.firewalldZone, '--firewalld-zone', '(command line)', problems);
    if (z !== undefined) firewalldZone = z;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { intervalMs, firewalldZone };
}
