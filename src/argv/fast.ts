import { parseArgs } from 'node:util';
import { GLOBAL_OPTIONS, type Globals, type Invocation, isHookKind, isRefusedValue, parseArgsOptions } from './grammar.js';

type ParsedToken = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/**
 * `up [NET]` and `hook qemu|network ...` with the global options, read by node:util parseArgs
 * from the one grammar (commander costs ~7 ms to load; libvirtd waits for the hook). Returns
 * null for anything else or anything doubtful (help, version, unknown options, a missing or empty
 * value, `--`): commander then reads it, so the meaning is the same either way
 * (test/unit/argv-grammar.test.ts runs both on one corpus).
 */
export function parseFast(args: string[]): Invocation | null {
  const at = commandIndex(args);
  if (at < 0) return null;
  if (args[at] === 'hook') {
    // everything after the kind is libvirt's (a VM may be called `-v`): ours only before `hook`
    if (!isHookKind(args[at + 1])) return null;
    const head = parseGlobals(args.slice(0, at));
    if (!head || head.positionals.length > 0) return null;
    return { command: ['hook'], operands: args.slice(at + 1), options: {}, globals: head.globals };
  }
  if (args[at] !== 'up') return null;
  // like commander, global options may also follow the command
  const all = parseGlobals(args);
  if (!all || all.positionals.length > 2) return null;
  return { command: ['up'], operands: all.positionals.slice(1), options: {}, globals: all.globals };
}

/** Index of the command word: the first argument that is neither a global option nor its value. */
function commandIndex(args: string[]): number {
  try {
    const { tokens } = parseArgs({ args, options: parseArgsOptions(), strict: false, allowPositionals: true, tokens: true });
    const first = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
    return first?.kind === 'positional' ? first.index : -1;
  } catch {
    return -1;
  }
}

/** Only global options and positionals, strictly; null for anything doubtful. */
function parseGlobals(args: string[]): { globals: Globals; positionals: string[] } | null {
  let parsed: { tokens: ParsedToken[]; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: parseArgsOptions(), strict: true, allowPositionals: true, tokens: true });
  } catch {
    return null;
  }
  const globals: Globals = {};
  for (const t of parsed.tokens) {
    if (t.kind === 'option-terminator') return null;
    if (t.kind !== 'option') continue;
    const o = GLOBAL_OPTIONS.find((g) => g.long === t.name);
    if (!o) return null;
    if (typeof t.value === 'string' && isRefusedValue(o, t.value)) return null;
    // repeated: the last one wins, as in commander
    Object.assign(globals, { [o.key]: o.value ? t.value : true });
  }
  return { globals, positionals: parsed.positionals };
}

/**
 * The global options anywhere in an argv, leniently: other options are skipped (e.g. another
 * process's `listen --interval 5 --state-dir DIR`); repeated, the last one wins, as in commander.
 */
export function looseGlobals(args: string[]): Globals {
  const globals: Globals = {};
  let tokens: ParsedToken[];
  try {
    ({ tokens } = parseArgs({ args, options: parseArgsOptions(), strict: false, allowPositionals: true, tokens: true }));
  } catch {
    return globals;
  }
  for (const t of tokens) {
    if (t.kind === 'option-terminator') break;
    const o = t.kind === 'option' ? GLOBAL_OPTIONS.find((g) => g.long === t.name) : undefined;
    if (o && t.kind === 'option') Object.assign(globals, { [o.key]: o.value ? t.value : true });
  }
  return globals;
}
