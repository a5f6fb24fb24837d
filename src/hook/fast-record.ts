import { writeFileAtomic } from '../apply/atomic-write.js';
import { withLock } from '../state/lock.js';
import type { DomainInterface } from '../libvirt/scan.js';
import type { DomainRecord } from '../model/types.js';
import { domainFile } from '../state/layout.js';
import { waitingFor } from './budget.js';
import { applyDomainEvent, qemuDomainEvent } from './domain-record.js';
import { readOwnRecord } from './domain-record-read.js';
import type { OurNetwork } from './network-cache.js';

/**
 * start/started/stopped/release of a VM we already recorded: only its taps and running flag
 * change, so the fast path updates the record itself (libvirtd waits for start and started;
 * loading the engine for this cost ~150 ms per `virsh start`). Anything more (no valid record
 * yet, a network to take down when idle) is left to the full path.
 */
export async function fastRecordEvent(
  op: string,
  extra: string,
  interfaces: readonly DomainInterface[],
  vm: string,
  dirs: { libDir: string; runDir: string },
  networks: OurNetwork[],
  previous: DomainRecord | null,
): Promise<string | null> {
  const ev = qemuDomainEvent(op, interfaces, extra);
  if (!ev || !previous) return null;
  if (op === 'release' && networks.some((n) => n.downWhenIdle && previous.nics.some((x) => x.bridge === n.bridge))) return null;
  let done = true;
  waitingFor('the host lock');
  await withLock(dirs.runDir, async () => {
    const current = readOwnRecord(dirs.libDir, vm).record;
    if (!current) {
      done = false;
      return;
    }
    writeFileAtomic(domainFile(dirs, vm), `${JSON.stringify(applyDomainEvent(current, ev, new Date()), null, 2)}\n`, 0o644);
  });
  if (!done) return null;
  return ev.kind === 'running' ? 'recorded taps' : 'recorded stop';
}
