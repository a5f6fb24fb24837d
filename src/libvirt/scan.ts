import { normaliseMac } from '../net/mac.js';
import { decodeXml, SubtreeBuilder, walkXml, type XmlNode } from './xml.js';

/**
 * What the hooks read of the XML libvirt hands them, in ONE linear pass (xml.ts): the hook's
 * CommonJS fast path and the full path call the same functions, so they always agree on a VM's
 * interfaces. Only the elements at libvirt's own paths count (/domain/devices/interface, ...);
 * the first of several like-named elements wins, as libvirt reads them.
 */

/** One <interface> of a domain, as libvirt hands it to the qemu hook. */
export interface DomainInterface {
  /** Lower-case colon MAC. */
  mac: string;
  /** <interface type=..>: "bridge", "network", "direct", "user", ... */
  type: string;
  /** <source bridge>: given for type=bridge, and for type=network once the port exists (start on). */
  bridge: string | null;
  /** <source network>: the libvirt network, for type=network. */
  network: string | null;
  /** <target dev>: the host tap, known from `start` on. */
  tap: string | null;
}

export interface DomainScan {
  /** False when the XML is not a well-formed <domain> document. */
  wellFormed: boolean;
  name: string | null;
  uuid: string | null;
  /** Interfaces with a MAC (libvirt always assigns one; nothing to reserve without it). */
  interfaces: DomainInterface[];
  /** <metadata> (with the children asked for), when asked for. */
  metadata: XmlNode | null;
}

interface RawInterface {
  type: string;
  mac?: string | null;
  bridge?: string | null;
  network?: string | null;
  tap?: string | null;
}

const textOf = (raw: string, cdata: boolean) => (cdata ? raw : decodeXml(raw));

/**
 * A domain's name, uuid, interfaces, linear in the XML's size. With `metadata`, also <metadata>
 * with those of its children the predicate accepts (by their attributes: e.g. their namespace),
 * so other programs' metadata, however large, is never built into a tree.
 */
export function scanDomain(xml: string, metadata?: (attrs: Record<string, string>) => boolean): DomainScan {
  let name: string[] | null = null;
  let uuid: string[] | null = null;
  let collecting: string[] | null = null;
  const raw: RawInterface[] = [];
  let iface: RawInterface | null = null;
  const meta = new SubtreeBuilder();
  let metaNode: XmlNode | null = null;
  /** Depth of a <metadata> child being skipped (0: none). */
  let skipping = 0;
  let root: string | null = null;
  const wellFormed = walkXml(xml, {
    open(path, attrs) {
      if (skipping) return;
      if (meta.active) {
        if (path.length === 3 && !metadata!(attrs())) {
          skipping = path.length;
          return;
        }
        return meta.element(path[path.length - 1], attrs());
      }
      root ??= path[0];
      if (root !== 'domain') return;
      const el = path[path.length - 1];
      switch (path.length) {
        case 2:
          if (el === 'name' && name === null) collecting = name = [];
          else if (el === 'uuid' && uuid === null) collecting = uuid = [];
          else if (el === 'metadata' && metadata && metaNode === null) meta.element(el, attrs());
          break;
        case 3:
          if (el === 'interface' && path[1] === 'devices') {
            iface = { type: attrs().type ?? '' };
            raw.push(iface);
          }
          break;
        case 4:
          if (!iface) break;
          if (el === 'mac' && iface.mac === undefined) iface.mac = attrs().address ?? null;
          else if (el === 'source' && iface.bridge === undefined) {
            const a = attrs();
            iface.bridge = a.bridge ?? null;
            iface.network = a.network ?? null;
          } else if (el === 'target' && iface.tap === undefined) iface.tap = attrs().dev ?? null;
          break;
      }
    },
    text(path, t, cdata) {
      if (skipping) return;
      if (meta.active) meta.text(textOf(t, cdata));
      else if (collecting && path.length === 2) collecting.push(textOf(t, cdata));
    },
    close(path) {
      if (skipping) {
        if (path.length === skipping) skipping = 0;
        return;
      }
      if (meta.active) {
        metaNode = meta.end() ?? metaNode;
        return;
      }
      if (path.length === 2) collecting = null;
      else if (path.length === 3) iface = null;
    },
  });
  const interfaces: DomainInterface[] = [];
  for (const r of raw) {
    const mac = normaliseMac(r.mac ?? '');
    if (mac) interfaces.push({ mac, type: r.type, bridge: r.bridge ?? null, network: r.network ?? null, tap: r.tap ?? null });
  }
  const joined = (t: string[] | null) => (t === null ? null : t.join('').trim());
  return { wellFormed: wellFormed && root === 'domain', name: joined(name), uuid: joined(uuid), interfaces, metadata: metaNode };
}

/** A port a VM's type=network interface got on a libvirt network (port-created/port-deleted). */
export interface NetworkPortScan {
  vm: string | null;
  vmUuid: string | null;
  mac: string | null;
  /** <plug bridge>: the bridge the tap is plugged into. */
  bridge: string | null;
}

export interface NetworkScan {
  /** False when the XML is not a well-formed <hookData> document. */
  wellFormed: boolean;
  name: string | null;
  /** <bridge name>: null for networks without a bridge (e.g. macvtap pools). */
  bridge: string | null;
  /** <forward mode>, null when absent (isolated network). */
  forwardMode: string | null;
  port: NetworkPortScan | null;
}

/**
 * The <hookData> a network hook gets: the network's name and bridge, the port's VM, MAC and bridge.
 * `root` 'networkstatus' reads libvirt's status file of an active network
 * (/run/libvirt/network/NAME.xml), which holds the same <network> one level down.
 */
export function scanNetworkHook(xml: string, rootElement: 'hookData' | 'networkstatus' = 'hookData'): NetworkScan {
  const texts: Record<string, string[]> = {};
  let collecting: string[] | null = null;
  const first: Record<string, string | null> = {};
  let port = false;
  let root: string | null = null;
  const once = (key: string, value: () => string | undefined) => {
    if (!Object.hasOwn(first, key)) first[key] = value() ?? null;
  };
  const collect = (key: string) => {
    if (!texts[key]) collecting = texts[key] = [];
  };
  const wellFormed = walkXml(xml, {
    open(path, attrs) {
      root ??= path[0];
      if (root !== rootElement || path.length < 2 || path.length > 4) return;
      const top = path[1];
      const el = path[path.length - 1];
      if (path.length === 2) port ||= top === 'networkport';
      else if (path.length === 3 && top === 'network') {
        if (el === 'bridge') once('network/bridge', () => attrs().name);
        else if (el === 'forward') once('network/forward', () => attrs().mode);
        else if (el === 'name') collect('network/name');
      } else if (path.length === 3 && top === 'networkport') {
        if (el === 'mac') once('networkport/mac', () => attrs().address);
        else if (el === 'plug') once('networkport/plug', () => attrs().bridge);
      } else if (path.length === 4 && top === 'networkport' && path[2] === 'owner' && (el === 'name' || el === 'uuid')) collect(`networkport/owner/${el}`);
    },
    text(_path, t, cdata) {
      collecting?.push(textOf(t, cdata));
    },
    close() {
      collecting = null;
    },
  });
  const value = (k: string) => (texts[k] ? texts[k].join('').trim() : null);
  return {
    wellFormed: wellFormed && root === rootElement,
    name: value('network/name'),
    bridge: first['network/bridge'] ?? null,
    forwardMode: first['network/forward'] ?? null,
    port: port
      ? { vm: value('networkport/owner/name'), vmUuid: value('networkport/owner/uuid'), mac: first['networkport/mac'] ?? null, bridge: first['networkport/plug'] ?? null }
      : null,
  };
}

/** The bridge a network hook event is about: the port's plug, else the network's own bridge. */
export function hookDataBridge(s: { bridge: string | null; port: { bridge: string | null } | null }): string | null {
  return s.port?.bridge ?? s.bridge;
}
