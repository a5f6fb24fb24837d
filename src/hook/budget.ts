/**
 * A hook's overall time budget: libvirtd waits for every hook, so a hook that cannot finish
 * gives up after BUDGET_MS with one line naming what it was waiting for. Exiting ends child
 * processes too (the runner spawns them with cleanup), so none outlives the hook.
 */
export const BUDGET_MS = 45_000;

let waiting = 'the XML on stdin';

/** Names the step the hook is in, for the line printed if the budget runs out. */
export function waitingFor(what: string): void {
  waiting = what;
}

/** Starts the clock; the returned function stops it. `onExpiry` gets what the hook was waiting for. */
export function armBudget(ms: number, onExpiry: (waitingFor: string) => void): () => void {
  const t = setTimeout(() => onExpiry(waiting), ms);
  t.unref();
  return () => clearTimeout(t);
}

/** The budget in ms: NATNET_HOOK_BUDGET seconds (tests; libvirt's scrubbed environment never sets it), else BUDGET_MS. */
export function budgetMs(env: NodeJS.ProcessEnv): number {
  const s = Number(env.NATNET_HOOK_BUDGET);
  return Number.isFinite(s) && s > 0 ? s * 1000 : BUDGET_MS;
}
