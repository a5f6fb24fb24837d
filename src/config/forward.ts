/**
 * The one home of port forwards' grammar and rules: `[[forward]]` tables (config, leases.d),
 * the CLI's PORT[/PROTO], the domain's <natnet:forward>: normalise, validate, resolve the target.
 */
import type { ConfigProblem } from '../errors.js';
import { type Forward, type PortSegment, type Proto, PROTOS, type ResolvedForward } from '../model/forward.js';
import type { Lease, Network } from '../model/types.js';
import { formatIPv4, parseCidr, parseIPv4 } from '../net/ipv4.js';
import { checkKnownKeys, vmField } from './lease.js';
import { joinField, type Problems } from './problems.js';
import { networkOfIp } from './validate.js';

type Raw = Record<string, unknown>;

export const FORWARD_KEYS = new Set(['vm', 'proto', 'port', 'to_port', 'listen', 'source', 'network']);

/** A remapped range renders one rule per port: bounded so a typo cannot render 65535 rules. */
export const MAX_REMAPPED_PORTS = 1024;

const PORT_GRAMMAR = 'expected ports like "8080", "8000-8010" or "80,443,9000-9009" (1-65535, each port once)';

export interface PortRange {
  first: number;
  last: number;
}

function portNumber(text: string): number | null {
  if (!/^[1-9]\d{0,4}$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

/** "80,443,9000-9009" → ranges in the order written; null when not that grammar or a port repeats. */
export function parsePorts(text: string): PortRange[] | null {
  const out: PortRange[] = [];
  for (const item of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    if (!m) return null;
    const first = portNumber(m[1]);
    const last = m[2] === undefined ? first : portNumber(m[2]);
    if (first === null || last === null || last < first) return null;
    if (out.some((r) => first <= r.last && r.first <= last)) return null;
    out.push({ first, last });
  }
  return out;
}

export function formatPorts(ranges: PortRange[]): string {
  return ranges.map((r) => (r.first === r.last ? String(r.first) : `${r.first}-${r.last}`)).join(',');
}

const count = (ranges: PortRange[]) => ranges.reduce((n, r) => n + r.last - r.first + 1, 0);

/**
 * Host ports → guest ports. One guest port: every host port goes to it. Several: position by
 * position (same count). Runs that keep their numbers stay one segment; remapped ports are one
 * segment each. Returns a problem text instead when the counts differ.
 */
export function portSegments(ports: PortRange[], to: PortRange[] | null): PortSegment[] | string {
  if (to === null) return ports.map((r) => ({ ...r, to: null }));
  const toCount = count(to);
  if (toCount === 1) {
    const t = to[0].first;
    return ports.map((r) => ({ ...r, to: r.first === r.last && r.first === t ? null : t }));
  }
  const n = count(ports);
  if (n !== toCount) return `expected one port, or as many ports as port has (${n}; this has ${toCount})`;
  const flat = (rs: PortRange[]) => rs.flatMap((r) => Array.from({ length: r.last - r.first + 1 }, (_, i) => r.first + i));
  const from = flat(ports);
  const dest = flat(to);
  const out: PortSegment[] = [];
  for (let i = 0; i < from.length; i++) {
    const same = from[i] === dest[i];
    const prev = out.at(-1);
    if (same && prev && prev.to === null && prev.last + 1 === from[i]) prev.last = from[i];
    else out.push({ first: from[i], last: from[i], to: same ? null : dest[i] });
  }
  if (out.filter((s) => s.to !== null).length > MAX_REMAPPED_PORTS) {
    return `expected at most ${MAX_REMAPPED_PORTS} remapped ports (each is one rule); forward ranges that keep their numbers instead`;
  }
  return out;
}

/** "8080", "8080/udp" (the CLI's PORT[/PROTO]) → ports text and proto; null proto: not given. */
export function splitPortProto(text: string): { port: string; proto: string | null } {
  const i = text.lastIndexOf('/');
  return i < 0 ? { port: text, proto: null } : { port: text.slice(0, i), proto: text.slice(i + 1) };
}

function portsField(raw: unknown): string | null {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' && Number.isInteger(raw)) return String(raw);
  return null;
}

/** One [[forward]] table → Forward, or null with its problems. `fixedVm`: the VM of the leases.d file it is in. */
export function normaliseForward(raw: Raw, field: string, p: Problems, fixedVm?: string): Forward | null {
  const before = p.list.length;
  checkKnownKeys(raw, FORWARD_KEYS, field, p);
  const vm = vmField(raw, field, p, fixedVm);
  const proto = raw.proto ?? 'tcp';
  if (typeof proto !== 'string' || !(PROTOS as readonly string[]).includes(proto)) p.add(joinField(field, 'proto'), proto, 'expected "tcp" or "udp"');

  const portText = portsField(raw.port);
  const ports = portText === null ? null : parsePorts(portText);
  if (!ports) p.add(joinField(field, 'port'), raw.port, PORT_GRAMMAR);
  let to: PortRange[] | null = null;
  if (raw.to_port !== undefined) {
    const toText = portsField(raw.to_port);
    to = toText === null ? null : parsePorts(toText);
    if (!to) p.add(joinField(field, 'to_port'), raw.to_port, PORT_GRAMMAR);
  }
  let segments: PortSegment[] = [];
  if (ports && (to || raw.to_port === undefined)) {
    const s = portSegments(ports, to);
    if (typeof s === 'string') p.add(joinField(field, 'to_port'), raw.to_port, s);
    else segments = s;
  }

  let listen: string | null = null;
  if (raw.listen !== undefined) {
    if (typeof raw.listen === 'string' && parseIPv4(raw.listen) !== null) listen = raw.listen;
    else p.add(joinField(field, 'listen'), raw.listen, 'expected an IPv4 address of this host, like 203.0.113.1');
  }
  const sourceList = raw.source === undefined ? [] : Array.isArray(raw.source) ? raw.source : [raw.source];
  const sources: string[] = [];
  sourceList.forEach((s, i) => {
    const f = Array.isArray(raw.source) ? joinField(field, `source[${i}]`) : joinField(field, 'source');
    const cidr = typeof s === 'string' ? parseCidr(s.includes('/') ? s : `${s}/32`) : null;
    if (!cidr) p.add(f, s, 'expected an IPv4 CIDR like 198.51.100.0/24 (or one address)');
    else sources.push(`${formatIPv4(cidr.network)}/${cidr.prefix}`);
  });
  let network: string | null = null;
  if (raw.network !== undefined) {
    if (typeof raw.network === 'string' && raw.network !== '') network = raw.network;
    else p.add(joinField(field, 'network'), raw.network, 'expected the name of one of our networks');
  }
  if (p.list.length > before || !ports) return null;
  return {
    vm: vm as string,
    proto: proto as Proto,
    port: formatPorts(ports),
    toPort: to ? formatPorts(to) : null,
    segments,
    listen,
    sources: [...new Set(sources)],
    network,
    origin: { file: p.file, field },
  };
}

/** The same forward, wherever it was written (config, leases.d, metadata). */
export function sameForward(a: Forward, b: Forward): boolean {
  const key = (f: Forward) => JSON.stringify([f.vm, f.proto, f.port, f.toPort, f.listen, f.sources, f.network]);
  return key(a) === key(b);
}

function where(f: Forward): string {
  return f.origin.field ? `${f.origin.file} ${f.origin.field}` : f.origin.file;
}

/** "listen:port/proto" as status and list show it; "*" is every local address. */
export function describeForward(f: Forward): string {
  return `${f.listen ?? '*'}:${f.port}/${f.proto}`;
}

function overlaps(a: Forward, b: Forward): boolean {
  if (a.proto !== b.proto) return false;
  if (a.listen !== null && b.listen !== null && a.listen !== b.listen) return false;
  return a.segments.some((x) => b.segments.some((y) => x.first <= y.last && y.first <= x.last));
}

export interface ForwardProblem extends ConfigProblem {
  involved: Forward[];
}

/**
 * Forwards against each other (the same host port twice, also across VMs, naming both) and
 * their targets: the VM's reservation on one of our networks. Returns what resolves.
 */
export function resolveForwards(networks: Network[], leases: Lease[], forwards: Forward[]): { resolved: ResolvedForward[]; problems: ForwardProblem[] } {
  const problems: ForwardProblem[] = [];
  const add = (f: Forward, key: string, value: unknown, expected: string, others: Forward[] = []) =>
    problems.push({ file: f.origin.file, field: joinField(f.origin.field, key), value, expected, involved: [f, ...others] });
  const leasesOf = new Map<string, Lease[]>();
  for (const l of leases) leasesOf.set(l.vm, [...(leasesOf.get(l.vm) ?? []), l]);
  const resolved: ResolvedForward[] = [];
  forwards.forEach((f, i) => {
    const twin = forwards.slice(0, i).find((o) => overlaps(o, f));
    if (twin) {
      add(f, 'port', f.port, `expected a host port not already forwarded by ${where(twin)} (vm ${JSON.stringify(twin.vm)}, ${describeForward(twin)})`, [twin]);
      return;
    }
    const targets = (leasesOf.get(f.vm) ?? []).flatMap((l) => {
      const net = networkOfIp(networks, l.ip);
      return net ? [{ ip: l.ip, network: net.name }] : [];
    });
    if (f.network !== null && !networks.some((n) => n.name === f.network)) {
      add(f, 'network', f.network, `expected one of our networks (${networks.map((n) => n.name).join(', ')})`);
      return;
    }
    const onNet = f.network === null ? targets : targets.filter((t) => t.network === f.network);
    const nets = [...new Set(onNet.map((t) => t.network))];
    if (onNet.length === 0) {
      const on = f.network ? ` on network ${f.network}` : '';
      add(f, 'vm', f.vm, `expected a VM with a reservation${on}: a forward targets the VM's reserved address (natnet-hook lease add ${JSON.stringify(f.vm)} IP)`);
    } else if (nets.length > 1) {
      add(f, 'network', f.network, `expected network = one of ${nets.join(', ')}: VM ${JSON.stringify(f.vm)} has reservations on several networks`);
    } else {
      const net = networks.find((n) => n.name === nets[0])!;
      // the bridge's own address is never forwarded (VMs reach their neighbours directly)
      if (f.listen === net.gateway) add(f, 'listen', f.listen, `expected a host address other than the bridge address of ${net.name}`);
      else resolved.push({ ...f, ip: onNet[0].ip, network: nets[0] });
    }
  });
  return { resolved, problems };
}
