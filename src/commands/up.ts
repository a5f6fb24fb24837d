import type { Context } from '../engine/context.js';
import { type NetworkChange, up } from '../engine/index.js';
import { assertRoot, assertRootToRead } from './need-root.js';

/**
 * One block per network: its steps as `  - <describeStep>` lines, the same for `plan` (would do)
 * and `up` (done), then what was left and why as `  note: ...` lines.
 */
export function formatChanges(changes: NetworkChange[], dryRun: boolean): string {
  return changes
    .map((c) => {
      const head = c.actions.length === 0 ? `${c.network}: up, nothing to change\n` : `${c.network}: ${dryRun ? 'would do' : 'done'}:\n`;
      return head + c.actions.map((a) => `  - ${a}\n`).join('') + (c.notes ?? []).map((n) => `  note: ${n}\n`).join('');
    })
    .join('');
}

export async function runUp(ctx: Context, network?: string): Promise<void> {
  if (ctx.dryRun) assertRootToRead('plan');
  else assertRoot('up');
  const changes = await up(ctx, { networks: network ? [network] : undefined, reason: 'cli up' });
  process.stdout.write(formatChanges(changes, ctx.dryRun));
}
