import type { Context } from '../engine/context.js';
import { getStatus } from '../engine/status.js';
import { ExitCode } from '../errors.js';
import { renderStatusText } from '../render/status-text.js';

/** Prints the status; returns 0 when healthy, 4 when degraded (for monitoring). */
export async function runStatus(ctx: Context, network: string | undefined, o: { json?: boolean }): Promise<number> {
  const report = await getStatus(ctx, network ? [network] : undefined);
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatusText(report));
  return report.healthy ? ExitCode.ok : ExitCode.degraded;
}
