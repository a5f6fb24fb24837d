import type { ContextOptions } from './engine/context.js';

/**
 * `[--config P | -c P | --config=P] [--state-dir D | --state-dir=D] [-v | --verbose] up [NET]`
 * without commander. Anything else (help, dry-run, unknown options) returns null and goes to
 * the full parser, so behaviour is the same either way.
 */
export function parseFastUp(args: string[]): { context: ContextOptions; network?: string } | null {
  const context: ContextOptions = {};
  let i = 0;
  for (; i < args.length && args[i] !== 'up'; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const [name, inline] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (name === '-v' || name === '--verbose') {
      if (inline !== undefined) return null;
      context.verbose = true;
      continue;
    }
    if (name !== '--config' && name !== '-c' && name !== '--state-dir') return null;
    const value = inline ?? args[++i];
    if (value === undefined || value === '') return null;
    if (name === '--state-dir') context.stateDir = value;
    else context.config = value;
  }
  const rest = args.slice(i + 1);
  if (i >= args.length || rest.length > 1 || rest.some((r) => r.startsWith('-'))) return null;
  return { context, network: rest[0] };
}

/** `hook ...` preceded only by --config/-c/--state-dir (with values): the hook parses those itself. */
export function isHookCall(args: string[]): boolean {
  let i = 0;
  while (i < args.length && args[i] !== 'hook') {
    if (/^(--config|--state-dir)=/.test(args[i])) i += 1;
    else if (['--config', '-c', '--state-dir'].includes(args[i])) i += 2;
    else return false;
  }
  return i < args.length;
}
