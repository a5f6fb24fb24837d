import type { HookOptions } from '../hook/paths.cjs';

const USAGE = 'usage: natnet-hook [--config PATH] [--state-dir DIR] hook qemu|network OBJECT OPERATION SUB-OP EXTRA';

/**
 * `natnet-hook [--config P] [--state-dir D] hook qemu|network ...`, parsed without commander
 * (start-up time: libvirtd waits for the hook). `args` may start with the global
 * --config/--state-dir options; the rest is libvirt's argv. Returns the exit status.
 */
export async function runHook(args: string[], globals: HookOptions = {}): Promise<number> {
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
  const kind = rest.shift();
  if (kind === 'qemu') return (await import('./hook-qemu.js')).runHookQemu(rest, opts);
  if (kind === 'network') return (await import('./hook-network.js')).runHookNetwork(rest, opts);
  process.stderr.write(`natnet-hook: ${USAGE}\n`);
  return 2;
}

function setOpt(opts: HookOptions, name: string, value: string): void {
  if (name === '--state-dir') opts.stateDir = value;
  else opts.config = value;
}
