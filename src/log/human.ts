import type { LevelName } from './journal.js';

/** Steps' `why` starts with one of these verbs (plan/steps.ts); a done step says it in the past. */
const PAST: Record<string, string> = {
  apply: 'applied',
  create: 'created',
  enable: 'enabled',
  reload: 'reloaded',
  remove: 'removed',
  repair: 'repaired',
  restart: 'restarted',
  start: 'started',
  stop: 'stopped',
  write: 'wrote',
};

/** Fields that help a machine more than a person reading a terminal. */
const QUIET_FIELDS = new Set(['ms', 'pid', 'dryRun', 'action', 'input']);

const LEVEL_MARK: Record<LevelName, string> = { debug: 'debug: ', info: '', warn: 'warning: ', error: 'error: ' };

/** Control characters (a VM name, a file's content) shown escaped, never written to the terminal. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function startsWithVerb(text: string): boolean {
  return Object.hasOwn(PAST, text.split(' ', 1)[0]);
}

function past(text: string): string {
  const [verb, ...rest] = text.split(' ');
  return [PAST[verb], ...rest].join(' ');
}

/** One executed (or, in a dry run, planned) step: "created bridge virbr10", "would write /run/… (dnsmasq config)". */
function stepLine(why: string, action: string, dryRun: boolean): string {
  const what = action.startsWith(`${why}: `) ? action.slice(why.length + 2) : '';
  if (startsWithVerb(why)) return dryRun ? `would ${why}` : past(why);
  if (startsWithVerb(what)) return `${dryRun ? `would ${what}` : past(what)} (${why})`;
  return `${dryRun ? 'would: ' : ''}${why}${what ? `: ${what}` : ''}`;
}

function fieldText(v: unknown, key = ''): string {
  // a command line reads as one
  if (key === 'argv' && Array.isArray(v)) return v.join(' ');
  if (Array.isArray(v)) return `[${v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('; ')}]`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/**
 * A log record as a short plain line for a person: the message, the error after a colon, other
 * fields in parentheses; warnings and errors marked. No pino, no JSON, no time stamp.
 */
export function humanLine(level: LevelName, fields: Record<string, unknown> | undefined, msg: string | undefined): string {
  const f = fields ?? {};
  const dryRun = f.dryRun === true;
  let text: string;
  if (typeof f.action === 'string' && msg) text = stepLine(msg, f.action, dryRun);
  else if (msg === 'dry-run' && Array.isArray(f.argv)) text = `would run: ${f.argv.join(' ')}`;
  else {
    text = msg ?? '';
    if (f.err !== undefined) text += `${text ? ': ' : ''}${fieldText(f.err)}`;
    const rest = Object.entries(f).filter(([k, v]) => v !== undefined && k !== 'err' && !QUIET_FIELDS.has(k));
    if (rest.length) text += `${text ? ' ' : ''}(${rest.map(([k, v]) => `${k} ${fieldText(v, k)}`).join(', ')})`;
  }
  return `${LEVEL_MARK[level]}${clean(text)}`;
}
