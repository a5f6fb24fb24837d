import { statSync } from 'node:fs';
import { networkCacheFile as networkCacheFileOf } from '../state/layout.js';
import { networkCache } from '../state/schema.js';
import { readRecord } from '../state/store.js';
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

/** The cached networks when the cache is valid and matches the config as it is now, else null (a bad cache is rewritten). */
export function readNetworkCache(p: HookPaths, key = configKey(p.configPath)): OurNetwork[] | null {
  const r = readRecord(networkCacheFile(p), (v) => networkCache(v));
  if (r.kind !== 'ok') return null;
  const c: NetworkCache = r.value;
  return c.config === p.configPath && c.key === key ? c.networks : null;
}
