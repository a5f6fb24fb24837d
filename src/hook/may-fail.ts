import type { HookKind } from '../argv/grammar.js';

/**
 * Operations where a hook's non-zero exit stops something, so the user should see why: the VM
 * does not start (qemu prepare; network port-created), an incoming migration is cancelled (qemu
 * migrate) or the network does not start (network start).
 * Everything else exits 0 and logs. The ONE list: main.ts uses it, and the shims get it rendered
 * in (src/install/render.ts renderHookShim).
 */
export const MAY_FAIL = {
  qemu: ['prepare', 'migrate'],
  network: ['start', 'port-created'],
} as const satisfies Record<HookKind, readonly string[]>;

export function mayFail(kind: HookKind, op: string): boolean {
  return (MAY_FAIL[kind] as readonly string[]).includes(op);
}
