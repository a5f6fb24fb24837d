/**
 * The one engine every caller uses (CLI, hooks, listener, selftest):
 * desired state (config) -> observed state -> plan -> apply.
 */
import type { Context } from './context.js';
import type { DomainRecord } from '../model/types.js';

export interface UpOptions {
  /** Network names; default: every configured network. */
  networks?: string[];
  /** Record (or refresh) this VM's hook-learned facts before planning, under the same lock. */
  domain?: DomainRecord;
  /** Why this run happens, for the log (e.g. "hook prepare", "listener: firewalld Reloaded"). */
  reason?: string;
}

export interface NetworkChange {
  network: string;
  /** Human-readable actions taken, empty when nothing had to change. */
  actions: string[];
}

export async function up(_ctx: Context, _opts: UpOptions = {}): Promise<NetworkChange[]> {
  throw new Error('not implemented yet');
}

export async function down(_ctx: Context, _opts: { networks?: string[]; reason?: string } = {}): Promise<NetworkChange[]> {
  throw new Error('not implemented yet');
}

/** Names of networks this host currently has applied (recorded by up, removed by down). */
export function appliedNetworks(_ctx: Context): string[] {
  throw new Error('not implemented yet');
}
