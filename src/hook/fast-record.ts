import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { withLock } from '../state/lock.js';
import type { DomainRecord } from '../model/types.js';
import { markStopped } from './domain-record.js';
import type { OurNetwork } from './network-cache.js';

/**
 * start/started/stopped/release of a VM we already recorded: only its taps and running flag
 * change, so the fast path updates the record itself (libvirtd waits for start and started;
 * loading the engine for this cost ~150 ms per `virsh start`). Anything more (no record yet,
 * a network to take down when idle) is left to the full path.
 */

/** MAC → tap (`<target dev>`) of each interface, by regex. */
export function interfaceTaps(xml: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const [block] of xml.matchAll(/<interface\b[\s\S]*?<\/interface>/g)) {
    const mac = /<mac\b[^>]*\baddress\s*=\s*['"]([^'"]+)['"]/.exec(block)?.[1]?.toLowerCase();
    const tap = /<target\b[^>]*\bdev\s*=\s*['"]([^'"]+)['"]/.exec(block)?.[1] ?? null;
    if (mac) out.set(mac, tap);
  }
  return out;
}

export function withTaps(rec: DomainRecord, taps: Map<string, string | null>, now: Date): DomainRecord {
  const nics = rec.nics.map(({ tap: _old, ...n }) => {
    const tap = taps.get(n.mac);
    return tap ? { ...n, tap } : n;
  });
  return { ...rec, nics, running: true, updated: now.toISOString() };
}

/** The action taken, or null when the full path must handle the event. */
export async function fastRecordEvent(op: string, xml: string, file: string, runDir: string, networks: OurNetwork[]): Promise<string | null> {
  const starting = op === 'start' || op === 'started';
  if (!starting && op !== 'stopped' && op !== 'release') return null;
  if (!existsSync(file)) return null;
  const rec = JSON.parse(readFileSync(file, 'utf8')) as DomainRecord;
  if (op === 'release' && networks.some((n) => n.downWhenIdle && rec.nics.some((x) => x.bridge === n.bridge))) return null;
  await withLock(runDir, async () => {
    const current = JSON.parse(readFileSync(file, 'utf8')) as DomainRecord;
    const next = starting ? withTaps(current, interfaceTaps(xml), new Date()) : markStopped(current, new Date());
    writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`, 0o644);
  });
  return starting ? 'recorded taps' : 'recorded stop';
}
