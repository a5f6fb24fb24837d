/**
 * VM names may hold any character libvirt allows; file names must be safe and reversible.
 * No imports: the hook's CommonJS prefilter bundle uses this too, and must stay small.
 */
export function encodeFileStem(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E');
}

/** <encoded vm>.json, as the domain records (engine/domains.ts) and the hook's fingerprints are named. */
export function domainFileName(vm: string): string {
  return `${encodeFileStem(vm)}.json`;
}
