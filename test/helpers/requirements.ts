import { delimiter } from 'node:path';
import { missingTools } from '../../src/observe/tools.js';

const SEARCH = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);

export function hasBinary(name: string): boolean {
  return missingTools([name], { PATH: SEARCH.join(delimiter) }).length === 0;
}

export interface Requirement {
  ok: boolean;
  /** Why the suite cannot run here ('' when ok). Put it in the suite's title. */
  reason: string;
}

/**
 * What a suite needs (root, binaries). Use as
 *   const req = needs({ root: true, bins: ['dnsmasq'] });
 *   describe.skipIf(!req.ok)(`engine in netns${req.reason}`, ...)
 * so a skip is reported with its reason. With NATNET_REQUIRE_ALL=1 (CI) a missing
 * requirement throws instead: nothing may be skipped there.
 */
export function needs(opts: { root?: boolean; bins?: string[] }): Requirement {
  const missing: string[] = [];
  if (opts.root && process.getuid?.() !== 0) missing.push('root');
  for (const b of opts.bins ?? []) if (!hasBinary(b)) missing.push(b);
  if (missing.length === 0) return { ok: true, reason: '' };
  const reason = ` [SKIPPED: needs ${missing.join(', ')}]`;
  if (process.env.NATNET_REQUIRE_ALL === '1') {
    throw new Error(`NATNET_REQUIRE_ALL=1 but this suite${reason}`);
  }
  return { ok: false, reason };
}
