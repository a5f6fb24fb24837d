import { existsSync } from 'node:fs';
import { type DomainInterface, hookDataBridge, scanDomain, scanNetworkHook } from '../libvirt/scan.js';
import type { DomainRecord } from '../model/types.js';
import { domainFile } from '../state/layout.js';
import type { BadRecord } from '../state/store.js';
import { needsLibvirtNetworks, ourBridgesOf } from './domain-record.js';
import { readOwnRecord, setAside } from './domain-record-read.js';
import { fastRecordEvent } from './fast-record.js';
import { readLibvirtNetworks } from './libvirt-networks-read.js';
import { appendHookRecord } from './log-record.js';
import { type OurNetwork, readNetworkCache } from './network-cache.js';
import { type HookOptions, type HookPaths, hookPaths } from './paths.js';
import { prepareUnchanged } from './prepare-fingerprint.js';
import { requestPrepare } from './group-commit.js';
import { readStdinSync } from './stdin.js';

/**
 * The hook's fast path. It imports only node: modules and the small modules beside it, so the
 * build can bundle it into ONE CommonJS file (dist/fast/hook/prefilter.cjs) that the installed
 * shim require()s: loading an ES module graph costs Node several ms more than `node -e 0`, and
 * libvirtd waits for every hook call. It settles a VM or network not on our bridges, and a
 * repeated prepare of an unchanged VM, without loading the XML/TOML parsers, pino or the engine;
 * otherwise (or when it cannot tell: no cached bridge list) main.ts takes over. main.ts makes
 * the same decision through decide() when the bundle is absent.
 */
import type { HookKind } from '../argv/grammar.js';

export type { HookKind };

/** libvirt's argv after the program name: object operation sub-operation extra. */
export interface HookEvent {
  object: string;
  op: string;
  sub: string;
  extra: string;
}

export function hookEvent(argv: string[]): HookEvent {
  const [object = '-', op = '-', sub = '-', extra = '-'] = argv;
  return { object, op, sub, extra };
}

export function domainRecordFile(libDir: string, vm: string): string {
  return domainFile({ libDir }, vm);
}


/** What the qemu hook knows of a domain before any engine runs: the same for the fast and the full path. */
export interface DomainFacts {
  /** The VM's own record, validated (null: none, or a bad one: see `bad`). */
  previous: DomainRecord | null;
  bad: BadRecord | null;
  /** libvirt network → bridge, read only when an interface names just its network. */
  libvirtNetworks: Record<string, string>;
  /** Our bridges its NICs are on (domain-record.ts ourNics: THE decision). */
  bridges: string[];
}

/** The facts of a domain (its name and interfaces, from scanDomain or parseDomainXml). */
export function domainFacts(dom: { name: string; interfaces: readonly DomainInterface[] }, libDir: string, networks: OurNetwork[]): DomainFacts {
  const { record: previous, bad } = readOwnRecord(libDir, dom.name);
  const libvirtNetworks = needsLibvirtNetworks(dom.interfaces) ? readLibvirtNetworks(libDir) : {};
  const bridges = ourBridgesOf(dom.interfaces, libvirtNetworks, previous, new Set(networks.map((n) => n.bridge)));
  return { previous, bad, libvirtNetworks, bridges };
}

/** Our networks on the given bridges, by name. */
export function networksOn(bridges: string[], networks: OurNetwork[]): string[] {
  return networks.filter((n) => bridges.includes(n.bridge)).map((n) => n.name);
}

/**
 * The linear pre-scan: false when the XML cannot concern us, because it names none of our
 * bridges nor a libvirt network wrapping one (bridge names are plain [A-Za-z0-9_.@+-], never
 * escaped; a network name that XML would escape is always looked at by the full scan).
 * indexOf only: megabytes of hostile XML are settled in a millisecond, before any XML is read.
 */
export function namesOurs(xml: string, bridges: readonly string[], libvirtNetworks: () => Record<string, string> = () => ({})): boolean {
  if (bridges.some((b) => xml.includes(b))) return true;
  // only <source network=..> names a libvirt network: no need to read the map without one
  if (!xml.includes('network')) return false;
  const map = libvirtNetworks();
  const ours = new Set(bridges);
  return Object.keys(map).some((n) => ours.has(map[n]) && (/[<>&'"]/.test(n) || xml.includes(n)));
}

/** Could a network hook event concern one of our bridges? The full path reads the same bridge (hookDataBridge). */
function networkDecision(xml: string, networks: OurNetwork[]): Decision | null {
  if (!namesOurs(xml, networks.map((n) => n.bridge))) return { action: 'ignored (not on our bridges)' };
  const s = scanNetworkHook(xml);
  if (!s.wellFormed || !s.name) return { action: 'ignored (malformed input)', error: 'stdin: expected <hookData><network><name>' };
  const bridge = hookDataBridge(s);
  return networks.some((n) => n.bridge === bridge) ? null : { action: 'ignored (not on our bridges)' };
}

/** What the fast path settled, or null: the full path must run. */
export interface Decision {
  action: string;
  networks?: string[];
  /** 1 only for a prepare the group commit refused; otherwise 0. */
  exit?: 0 | 1;
  /** Logged; printed too (the one line libvirt shows) when exit is 1. */
  error?: string;
}

export async function decide(kind: HookKind, ev: HookEvent, xml: string, paths: HookPaths, networks: OurNetwork[]): Promise<Decision | null> {
  if (kind !== 'qemu') return networkDecision(xml, networks);
  const bridges = networks.map((n) => n.bridge);
  // a VM we recorded earlier (libvirt passes its name in argv) is always looked at
  if (!namesOurs(xml, bridges, () => readLibvirtNetworks(paths.libDir)) && !existsSync(domainRecordFile(paths.libDir, ev.object))) {
    return { action: 'ignored (not on our bridges)' };
  }
  const scan = scanDomain(xml);
  if (!scan.wellFormed || !scan.name) return { action: 'ignored (malformed input)', error: 'stdin: expected <domain> XML with a <name>' };
  const f = domainFacts({ name: scan.name, interfaces: scan.interfaces }, paths.libDir, networks);
  // a VM we recorded earlier still goes on (its stop; a port-created taught us its bridge)
  if (f.bridges.length === 0 && !f.previous) return { action: 'ignored (not on our bridges)', ...(f.bad ? { error: setAside(f.bad) } : {}) };
  if (f.bad) return null; // the full path sets it aside, starts a fresh record and logs why
  if (ev.op !== 'prepare') {
    const action = await fastRecordEvent(ev.op, ev.extra, scan.interfaces, scan.name, paths, networks, f.previous);
    return action ? { action } : null;
  }
  const nets = networksOn(f.bridges, networks);
  // named only by an earlier record: the full path decides whether it is ours before any waiting
  if (nets.length === 0) return null;
  const fp = { runDir: paths.runDir, libDir: paths.libDir, configPath: paths.configPath, leasesDir: paths.leasesDir };
  if (prepareUnchanged(fp, ev.object, xml, nets)) return { action: 'up (unchanged since the last prepare; bridge and dnsmasq alive)', networks: nets };
  // group commit: wait for the prepare that holds the lock to apply this VM too, or lead (null)
  return requestPrepare(fp, ev.object, xml, nets, networks.map((n) => n.name));
}

export function logDecision(kind: HookKind, ev: HookEvent, paths: HookPaths, d: Decision, started: number): void {
  appendHookRecord(paths.logDir, {
    hook: kind,
    event: [ev.object, ev.op, ev.sub, ev.extra].join(' '),
    vm: kind === 'qemu' ? ev.object : undefined,
    network: kind === 'network' ? ev.object : undefined,
    networks: d.networks,
    action: d.action,
    result: d.error ? 'error' : 'ok',
    error: d.error,
    exit: d.exit ?? 0,
    ms: Math.round((performance.now() - started) * 10) / 10,
  });
}

export type Prefiltered = { done: true; exit: 0 | 1 } | { done: false; stdin: string };

/**
 * The shim's entry: settle the event from the cached bridge list, or hand the read stdin on to
 * main.ts. Never throws. Exit 1 (with its one stderr line) only for a prepare the group commit refused.
 */
export async function prefilter(
  kind: HookKind,
  argv: string[],
  opts: HookOptions,
  env: NodeJS.ProcessEnv = process.env,
  input?: string,
): Promise<Prefiltered> {
  const started = performance.now();
  let stdin = '';
  try {
    stdin = input ?? readStdinSync();
    const ev = hookEvent(argv);
    const paths = hookPaths(opts, env);
    const networks = readNetworkCache(paths);
    const d = networks && (await decide(kind, ev, stdin, paths, networks));
    if (!d) return { done: false, stdin };
    if (d.exit === 1) process.stderr.write(`natnet-hook: ${d.error ?? d.action}\n`);
    logDecision(kind, ev, paths, d, started);
    return { done: true, exit: d.exit ?? 0 };
  } catch {
    return { done: false, stdin };
  }
}
