import type { Context } from '../engine/context.js';
import { readLeaseView } from '../observe/lease-view.js';
import { leasesJson, renderLeasesTable } from '../render/leases-table.js';

/** The active DHCP leases of one network (default: all), joined with VM names. */
export async function runLeases(ctx: Context, network: string | undefined, o: { json?: boolean }): Promise<void> {
  const rows = readLeaseView(ctx, network ? [network] : undefined);
  process.stdout.write(o.json ? leasesJson(rows) : renderLeasesTable(rows));
}
