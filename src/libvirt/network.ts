import { NatnetError } from '../errors.js';
import { normaliseMac } from '../net/mac.js';
import { scanNetworkHook } from './scan.js';

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
  const s = scanNetworkHook(xml);
  if (!s.wellFormed || !s.name) throw new NetworkXmlError('stdin: expected <hookData><network><name>');
  let port: NetworkPort | null = null;
  if (s.port) {
    const mac = normaliseMac(s.port.mac ?? '');
    if (!s.port.vm || !mac) throw new NetworkXmlError('stdin: <networkport> without <owner><name> or <mac address>');
    port = { vm: s.port.vm, vmUuid: s.port.vmUuid, mac, bridge: s.port.bridge };
  }
  return { name: s.name, bridge: s.bridge, forwardMode: s.forwardMode, port };
}
