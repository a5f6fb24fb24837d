import type { HookKind } from '../hook/main.js';
import type { HookOptions } from '../hook/paths.js';

/**
 * `natnet-hook [--config P] [--state-dir D] hook qemu|network OBJECT OPERATION SUB-OP EXTRA`
 * (argv read by src/argv/fast.ts, or commander). Returns the exit status for libvirt; never
 * throws (this is a sibling bundle: an error class from here would not be the caller's).
 */
export async function runHook(kind: HookKind, libvirtArgs: string[], opts: HookOptions = {}): Promise<number> {
  if (kind === 'qemu') return (await import('./hook-qemu.js')).runHookQemu(libvirtArgs, opts);
  return (await import('./hook-network.js')).runHookNetwork(libvirtArgs, opts);
}
