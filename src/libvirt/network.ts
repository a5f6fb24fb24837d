import { NatnetError } from '../errors.js';
import { normaliseMac } from '../net/mac.js';
import { attr, child, parseRoot, text } from './xml.js';

/** A port a VM's type=network interface got on a libvirt network (port-created/port-deleted). */
export interface NetworkPort {
  vm: string;
  vmUuid: string | null;
  mac: string;
  /** <plug bridge>: the bridge the tap is plugged into. */
  bridge: string | null;
}

export interface NetworkHookInfo {
  name: string;
  /** <bridge name>: null for networks without a bridge (e.g. macvtap pools). */
  bridge: string | null;
  /** <forward mode>, null when absent (isolated network). */
  forwardMode: string | null;
  port: NetworkPort | null;
}

export class NetworkXmlError extends NatnetError {}

/** The <hookData> libvirt writes on a network hook's stdin. */
export function parseNetworkHookXml(xml: string): NetworkHookInfo {
  const data = parseRoot(xml, 'hookData');
  const net = child(data, 'network');
  const name = text(child(net, 'name'));
  if (!data || !net || !name) throw new NetworkXmlError('stdin: expected <hookData><network><name>');
  let port: NetworkPort | null = null;
  const p = child(data, 'networkport');
  if (p) {
    const owner = child(p, 'owner');
    const vm = text(child(owner, 'name'));
    const mac = normaliseMac(attr(child(p, 'mac'), 'address') ?? '');
    if (!vm || !mac) throw new NetworkXmlError('stdin: <networkport> without <owner><name> or <mac address>');
    port = { vm, vmUuid: text(child(owner, 'uuid')), mac, bridge: attr(child(p, 'plug'), 'bridge') };
  }
  return {
    name,
    bridge: attr(child(net, 'bridge'), 'name'),
    forwardMode: attr(child(net, 'forward'), 'mode'),
    port,
  };
}
