import type { Backend, Network } from './types.js';

export type { Backend };

/**
 * What `up` put on this host for one network; `down` removes exactly this (each link only after
 * checking it is the kind and MAC we created). Lives in <runDir>/applied/<network>.json and is
 * written BEFORE each change is made (write-ahead), so a `down` after a crash at any point finds
 * everything that may have been created. Paths are never stored: they derive from the layout.
 */
export interface AppliedRecord {
  network: Network;
  backend: Backend;
  iptablesVariant: 'nft' | 'legacy' | null;
  /** We created (or were about to create) the bridge; else it pre-existed and down leaves it. */
  createdBridge: boolean;
  /** The bridge address we added (null: it was there before us, so down leaves it). */
  address: string | null;
  dummy: { name: string; created: boolean } | null;
  /** Why there is no dummy although one is configured (kernel without the dummy netdev). */
  dummyUnsupported: string | null;
  appliedAt: string;
}

/**
 * Host-wide changes `up` made that belong to no single network (<runDir>/host-changes.json):
 * put back by the `down` that leaves no network applied, whichever network made them.
 */
export interface HostChanges {
  /** ip_forward was 0 and we set it. */
  enabledForwarding: boolean;
  /**
   * iptables-nft tables, and built-in chains ("filter INPUT"), that did not exist before our
   * rules: deleted again once empty, so the nft ruleset ends as it began.
   */
  iptablesTablesCreated: ('nat' | 'filter')[];
  iptablesChainsCreated: string[];
}
