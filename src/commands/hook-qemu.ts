import type { HookOptions } from '../hook/paths.js';

/** `natnet-hook hook qemu VM OP SUBOP EXTRA` (domain XML on stdin). Returns the exit status for libvirt. */
export async function runHookQemu(args: string[], opts: HookOptions = {}): Promise<number> {
  const { runHook } = await import('../hook/main.js');
  return runHook('qemu', args, opts);
}
