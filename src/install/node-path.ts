import { realpathSync } from 'node:fs';
import type { Runner } from '../sys/runner.js';

/** The system node the hooks and the unit prefer: a package manager's, on libvirt's scrubbed PATH. */
export const SYSTEM_NODE = '/usr/bin/node';
export const MIN_NODE_MAJOR = 20;

/** "v20.11.1" → 20; null when unrecognised. */
export function nodeMajor(version: string): number | null {
  const m = /^v(\d+)\./.exec(version.trim());
  return m ? Number(m[1]) : null;
}

/**
 * node for the hooks' #! line, the unit's ExecStart and bin/natnet-hook's #!, by absolute path:
 * /usr/bin/node when it is >= 20 (it survives an nvm upgrade or a removed home), else the real
 * path of the node running install. Returns the path and the line install prints about it.
 */
export async function chooseNode(runner: Runner, given?: string, running = realpathSync(process.execPath)): Promise<{ node: string; line: string }> {
  if (given) return { node: given, line: `node: ${given} (--node)` };
  if (running === SYSTEM_NODE) return { node: SYSTEM_NODE, line: `node: ${SYSTEM_NODE} (${process.version})` };
  let why = `${SYSTEM_NODE} is missing`;
  try {
    const r = await runner.run([SYSTEM_NODE, '--version'], { readOnly: true, allowFailure: true });
    const major = r.code === 0 ? nodeMajor(r.stdout) : null;
    if (major !== null && major >= MIN_NODE_MAJOR) return { node: SYSTEM_NODE, line: `node: ${SYSTEM_NODE} (${r.stdout.trim()})` };
    if (major !== null) why = `${SYSTEM_NODE} is ${r.stdout.trim()}, older than ${MIN_NODE_MAJOR}`;
  } catch {
    // a hung node --version: use the running one
  }
  return { node: running, line: `node: ${running} (the node running install; ${why}): the hooks and the unit break if it goes away` };
}
