import type { HookOptions } from '../hook/paths.js';

/** `natnet-hook hook network NET OP SUBOP EXTRA` (<hookData> XML on stdin). Returns the exit status for libvirt. */
export async function runHookNetwork(args: string[], opts: HookOptions = {}): Promise<number> {
  const { runHook } = await import('../hook/main.js');
  return runHook('network', args, opts);
}
