import { readFileSync, statSync } from 'node:fs';
import { networkCacheFile as networkCacheFileOf } from '../state/layout.js';
import type { HookPaths } from './paths.js';

/** What the hook's fast path needs of the config: which bridges are ours. */
export interface OurNetwork {
  name: string;
  bridge: string;
  downWhenIdle: boolean;
}

export interface NetworkCache {
  config: string;
  key: string;
  networks: OurNetwork[];
}

/** Identity of the config file's current content, or "absent". */
export function configKey(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch {
    return 'absent';
  }
}

export function networkCacheFile(p: HookPaths): string {
  return networkCacheFileOf(p);
}

/** The cached networks when the cache matches the config as it is now, else null. */
export function readNetworkCache(p: HookPaths, key = configKey(p.configPath)): OurNetwork[] | null {
  try {
    const c = JSON.parse(readFileSync(networkCacheFile(p), 'utf8')) as NetworkCache;
    return c.config === p.configPath && c.key === key && Array.isArray(c.networks) ? c.networks : null;
  } catch {
    return null;
  }
}
