import type { Context } from '../engine/context.js';
import { up } from '../engine/index.js';
import { assertRoot } from './need-root.js';

export async function runUp(ctx: Context, network?: string): Promise<void> {
  if (!ctx.dryRun) assertRoot('up');
  const changes = await up(ctx, { networks: network ? [network] : undefined, reason: 'cli up' });
  for (const c of changes) {
    if (c.actions.length === 0) process.stdout.write(`${c.network}: up, nothing to change\n`);
    else process.stdout.write(`${c.network}: ${ctx.dryRun ? 'would do' : 'done'}:\n${c.actions.map((a) => `  - ${a}\n`).join('')}`);
  }
}
