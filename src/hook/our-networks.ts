import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../apply/atomic-write.js';
import type { HookPaths } from './paths.js';

/** What the hook's fast path needs of the config: which bridges are ours. */
export interface OurNetwork {
  name: string;
  bridge: string;
  downWhenIdle: boolean;
}

interface Cache {
  config: string;
  key: string;
  networks: OurNetwork[];
}

/** Identity of the config file's current content, or "absent". */
function configKey(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch {
    return 'absent';
  }
}

function cacheFile(p: HookPaths): string {
  return join(p.runDir, 'hook-networks.json');
}

function readCache(p: HookPaths, key: string): OurNetwork[] | null {
  try {
    const c = JSON.parse(readFileSync(cacheFile(p), 'utf8')) as Cache;
    return c.config === p.configPath && c.key === key && Array.isArray(c.networks) ? c.networks : null;
  } catch {
    return null;
  }
}

/**
 * The configured networks (name, bridge), cached in <runDir>/hook-networks.json keyed on the
 * config file's inode/size/times, so a hook for a VM that is not ours never loads the TOML
 * parser. A config that does not parse cleanly is never cached; its bridges are guessed from
 * the text so a VM on them still reaches the engine, which then refuses it with the config error.
 */
export async function ourNetworks(p: HookPaths): Promise<OurNetwork[]> {
  const key = configKey(p.configPath);
  const cached = readCache(p, key);
  if (cached) return cached;
  const { networksFromConfigText } = await import('./config-networks.js');
  let text = '';
  try {
    text = readFileSync(p.configPath, 'utf8');
  } catch {
    // absent: the built-in default network
  }
  const { networks, clean } = networksFromConfigText(p.configPath, text);
  if (clean) {
    try {
      writeFileAtomic(cacheFile(p), `${JSON.stringify({ config: p.configPath, key, networks } satisfies Cache)}\n`);
    } catch {
      // read-only run dir: just slower next time
    }
  }
  return networks;
}
