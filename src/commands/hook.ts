import type { HookOptions } from '../hook/paths.js';

const USAGE = 'usage: natnet-hook [--config PATH] [--state-dir DIR] hook qemu|network OBJECT OPERATION SUB-OP EXTRA';

export interface ParsedHookArgs {
  kind: string | undefined;
  /** libvirt's argv: OBJECT OPERATION SUB-OP EXTRA */
  rest: string[];
  opts: HookOptions;
}

/** Leading --config/-c/--state-dir (also --x=v) and the word "hook" are ours; the rest is libvirt's. */
export function parseHookArgs(args: string[], globals: HookOptions = {}): ParsedHookArgs {
  const opts: HookOptions = { ...globals };
  const rest = [...args];
  for (;;) {
    const a = rest[0];
    const eq = a?.match(/^(--config|--state-dir)=(.*)$/);
    if (eq) {
      setOpt(opts, eq[1], eq[2]);
      rest.shift();
    } else if ((a === '--config' || a === '-c' || a === '--state-dir') && rest.length > 1) {
      setOpt(opts, a, rest[1]);
      rest.splice(0, 2);
    } else if (a === 'hook') rest.shift();
    else break;
  }
  return { kind: rest.shift(), rest, opts };
}

function setOpt(opts: HookOptions, name: string, value: string): void {
  if (name === '--state-dir') opts.stateDir = value;
  else opts.config = value;
}

/**
 * `natnet-hook [--config P] [--state-dir D] hook qemu|network ...`, parsed without commander
 * (start-up time: libvirtd waits for the hook). Returns the exit status.
 */
export async function runHook(args: string[], globals: HookOptions = {}): Promise<number> {
  const { kind, rest, opts } = parseHookArgs(args, globals);
  if (kind === 'qemu') return (await import('./hook-qemu.js')).runHookQemu(rest, opts);
  if (kind === 'network') return (await import('./hook-network.js')).runHookNetwork(rest, opts);
  process.stderr.write(`natnet-hook: ${USAGE}\n`);
  return 2;
}
