import { withLock } from '../state/lock.js';
import { type NetworkHookInfo, NetworkXmlError, parseNetworkHookXml } from '../libvirt/network.js';
import { hookDataBridge } from '../libvirt/scan.js';
import { applyDomainEvent } from './domain-record.js';
import { readOwnRecord, setAside } from './domain-record-read.js';
import { rememberLibvirtNetwork } from './libvirt-networks.js';
import { changeLines, type HookDeps, type HookEvent, type HookOutcome, oneLine } from './outcome.js';

/**
 * The network hook, for libvirt networks that wrap one of our bridges (e.g.
 * <forward mode='bridge'/><bridge name='virbr10'/>). `start` brings ours up (failing fails
 * net-start); `port-created` records the VM's MAC and puts its reservation in place (failing
 * fails the VM start, like the qemu hook's prepare).
 */
export async function handleNetwork(ev: HookEvent, xml: string, deps: HookDeps): Promise<HookOutcome> {
  let info: NetworkHookInfo;
  try {
    info = parseNetworkHookXml(xml);
  } catch (e) {
    if (e instanceof NetworkXmlError) return { exit: 0, network: ev.object, action: 'ignored (malformed input)', error: e.message };
    throw e;
  }
  const bridge = hookDataBridge(info);
  const ours = deps.networks.find((n) => n.bridge === bridge);
  const base = { network: info.name, networks: ours ? [ours.name] : [] };
  if (!ours || !bridge) return { exit: 0, ...base, action: 'ignored (not on our bridges)' };
  const reason = `hook network ${ev.op} ${JSON.stringify(info.name)}`;

  if (['start', 'started', 'port-created'].includes(ev.op)) {
    try {
      await withLock(deps.ctx.runDir, async () => rememberLibvirtNetwork(deps.ctx.libDir, info.name, bridge));
    } catch (e) {
      deps.ctx.log.warn({ err: oneLine(e) }, 'could not record the libvirt network');
    }
  }
  switch (ev.op) {
    case 'start':
      try {
        const changes = await deps.engine.up(deps.ctx, { networks: [ours.name], reason });
        return { exit: 0, ...base, action: 'up', changes: changeLines(changes) };
      } catch (e) {
        return { exit: 1, ...base, action: 'refused', error: `network ${JSON.stringify(info.name)} not started: ${oneLine(e)}` };
      }
    case 'port-created': {
      const port = info.port;
      if (!port) return { exit: 0, ...base, action: 'ignored (no <networkport>)' };
      const now = deps.now?.() ?? new Date();
      const own = readOwnRecord(deps.ctx.libDir, port.vm);
      const badRecord = own.bad ? { error: setAside(own.bad) } : {};
      const rec = applyDomainEvent(own.record, { kind: 'port', vm: port.vm, uuid: port.vmUuid, mac: port.mac, bridge }, now);
      try {
        const changes = await deps.engine.up(deps.ctx, { networks: [ours.name], domain: rec, reason });
        return { exit: 0, ...base, vm: port.vm, action: 'up', changes: changeLines(changes), ...badRecord };
      } catch (e) {
        const error = `VM ${JSON.stringify(port.vm)} not started: ${oneLine(e)}`;
        return { exit: 1, ...base, vm: port.vm, action: 'refused', error };
      }
    }
    default:
      // started / port-deleted / updated / stopped: our network stays as it is (the qemu hook records VM stops)
      return { exit: 0, ...base, vm: info.port?.vm, action: 'nothing to do' };
  }
}
