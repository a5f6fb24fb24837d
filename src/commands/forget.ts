import { withEngineLock } from '../state/lock.js';
import { loadConfig } from '../config/load.js';
import type { Context } from '../engine/context.js';
import { readDomainRecord, removeDomainRecord } from '../engine/domains.js';
import { appliedNetworks, upLocked } from '../engine/index.js';
import { UsageError } from '../errors.js';

/**
 * `natnet-hook forget VM`: drop what the hooks recorded about a VM (its MACs, taps and
 * <metadata> leases). libvirt has no undefine hook, so this is how a deleted VM's
 * reservation goes away. leases.d files are not touched (that is `lease rm`).
 */
export async function runForget(ctx: Context, vm: string): Promise<void> {
  await withEngineLock(ctx, async () => {
    const rec = readDomainRecord(ctx, vm);
    if (!rec) throw new UsageError(`no record of VM ${JSON.stringify(vm)} (the hooks have not seen it)`);
    if (rec.running) ctx.log.warn({ vm }, 'the VM was last seen running; its next start records it again');
    removeDomainRecord(ctx, vm);
    const config = loadConfig(ctx);
    const bridges = new Set(rec.nics.map((n) => n.bridge));
    const nets = config.networks.filter((n) => bridges.has(n.bridge) && appliedNetworks(ctx).includes(n.name)).map((n) => n.name);
    // its dnsmasq leases too: they would keep its address from a later VM (forget-leases.ts)
    if (nets.length) await upLocked(ctx, config, { networks: nets, reason: `forget ${vm}`, forgetLeasesOf: [...new Set(rec.nics.map((n) => n.mac))] });
  });
  process.stdout.write(`${vm}: forgotten\n`);
}
