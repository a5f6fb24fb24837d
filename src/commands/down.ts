import type { Context } from '../engine/context.js';
import { down } from '../engine/index.js';
import { assertRoot } from './need-root.js';

export async function runDown(ctx: Context, network?: string, o: { force?: boolean } = {}): Promise<void> {
  assertRoot('down');
  const changes = await down(ctx, { networks: network ? [network] : undefined, reason: 'cli down', refuseIfRunning: !o.force });
  if (changes.length === 0) process.stdout.write('nothing is applied\n');
  for (const c of changes) {
    if (c.actions.length === 0) process.stdout.write(`${c.network}: not applied\n`);
    else process.stdout.write(`${c.network}: removed:\n${c.actions.map((a) => `  - ${a}\n`).join('')}`);
  }
}
