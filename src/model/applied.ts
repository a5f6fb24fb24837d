import type { Network } from './types.js';

export type Backend = 'iptables' | 'nftables';

/** What `up` put on this host for one network; `down` removes exactly this. Lives in <runDir>/applied/. */
export interface AppliedRecord {
  network: Network;
  backend: Backend;
  iptablesVariant: 'nft' | 'legacy' | null;
  /** We created the bridge (else it pre-existed and down leaves it). */
  createdBridge: boolean;
  /** The bridge address we added (null: it was there before us, so down leaves it). */
  address: string | null;
  dummy: { name: string; created: boolean } | null;
  /** Why there is no dummy although one is configured (kernel without the dummy netdev). */
  dummyUnsupported: string | null;
  /**
   * iptables-nft tables, and built-in chains ("filter INPUT"), that did not exist before our first
   * rules: down deletes them again when they are empty, so the nft ruleset ends as it began.
   */
  iptablesTablesCreated: string[];
  iptablesChainsCreated: string[];
  /** ip_forward was 0 and we set it: down restores it when no network of ours is left. */
  enabledForwarding: boolean;
  dnsmasq: { conf: string; pid: string; hosts: string; leases: string };
  appliedAt: string;
}
