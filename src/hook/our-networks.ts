import { writeFileAtomic } from '../apply/atomic-write.js';
import { readText } from '../config/read-text.js';
import { configKey, type NetworkCache, networkCacheFile, type OurNetwork, readNetworkCache } from './network-cache.js';
import type { HookPaths } from './paths.js';

export type { OurNetwork };

/**
 * The configured networks (name, bridge), cached in <runDir>/hook-networks.json keyed on the
 * config file's inode/size/times, so a hook for a VM that is not ours never loads the TOML
 * parser. A config that does not parse cleanly is never cached; its bridges are guessed from
 * the text so a VM on them still reaches the engine, which then refuses it with the config error.
 */
export async function ourNetworks(p: HookPaths): Promise<OurNetwork[]> {
  const key = configKey(p.configPath);
  const cached = readNetworkCache(p, key);
  if (cached) return cached;
  const { networksFromConfigText } = await import('./config-networks.js');
  const text = configText(p.configPath);
  const { networks, clean } = networksFromConfigText(p.configPath, text ?? '');
  if (clean && text !== null) {
    try {
      writeFileAtomic(networkCacheFile(p), `${JSON.stringify({ config: p.configPath, key, networks } satisfies NetworkCache)}\n`);
    } catch {
      // read-only run dir: just slower next time
    }
  }
  return networks;
}

/**
 * The config's text; '' when absent (the built-in default network); null when it cannot be read
 * or is not a regular UTF-8 file (a FIFO must not block a hook): then the default network's bridge
 * still routes its VMs to the engine, which refuses them naming the file, and nothing is cached.
 */
function configText(path: string): string | null {
  try {
    return readText(path) ?? '';
  } catch {
    return null;
  }
}
