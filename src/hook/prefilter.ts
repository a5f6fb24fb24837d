import { existsSync } from 'node:fs';
import { domainFile } from '../state/layout.js';
import { scanInterfaces, scanNetworkBridge } from '../libvirt/scan.js';
import { bridgeOfLibvirtNetwork, readLibvirtNetworks } from './libvirt-networks-read.js';
import { appendHookRecord } from './log-record.js';
import { type OurNetwork, readNetworkCache } from './network-cache.js';
import { type HookOptions, type HookPaths, hookPaths } from './paths.js';
import { fastRecordEvent } from './fast-record.js';
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
export type HookKind = 'qemu' | 'network';

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

/** Our networks a domain's interfaces name (by bridge, or by a libvirt network wrapping one), by regex. */
export function networksNamed(xml: string, paths: HookPaths, networks: OurNetwork[]): string[] {
  const scan = scanInterfaces(xml);
  const bridges = new Set(scan.bridges);
  if (scan.networks.length > 0) {
    const map = readLibvirtNetworks(paths.libDir);
    for (const n of scan.networks) bridges.add(bridgeOfLibvirtNetwork(map, n) ?? '');
  }
  return networks.filter((n) => bridges.has(n.bridge)).map((n) => n.name);
}

/** Could this event concern one of our bridges? Regex scan, no XML parser. */
export function mayConcernUs(kind: HookKind, ev: HookEvent, xml: string, paths: HookPaths, networks: OurNetwork[]): boolean {
  const ours = new Set(networks.map((n) => n.bridge));
  if (kind === 'network') {
    const plugs = [...xml.matchAll(/<plug\b[^>]*\bbridge\s*=\s*['"]([^'"]*)['"]/g)].map((m) => m[1]);
    return [scanNetworkBridge(xml), ...plugs].some((b) => b !== null && ours.has(b));
  }
  const scan = scanInterfaces(xml);
  if (scan.bridges.some((b) => ours.has(b))) return true;
  if (scan.networks.length > 0) {
    const map = readLibvirtNetworks(paths.libDir);
    if (scan.networks.some((n) => ours.has(bridgeOfLibvirtNetwork(map, n) ?? ''))) return true;
  }
  // a VM we recorded earlier (its stop, or a port-created taught us its bridge)
  return existsSync(domainRecordFile(paths.libDir, ev.object));
}

/** What the fast path settled, or null: the full path must run. */
export interface Decision {
  action: string;
  networks?: string[];
  /** 1 only for a prepare the group commit refused (its one line in `error`); otherwise 0. */
  exit?: 0 | 1;
  error?: string;
}

export async function decide(kind: HookKind, ev: HookEvent, xml: string, paths: HookPaths, networks: OurNetwork[]): Promise<Decision | null> {
  if (!mayConcernUs(kind, ev, xml, paths, networks)) return { action: 'ignored (not on our bridges)' };
  if (kind !== 'qemu') return null;
  if (ev.op !== 'prepare') {
    const action = await fastRecordEvent(ev.op, xml, domainRecordFile(paths.libDir, ev.object), paths.runDir, networks);
    return action ? { action } : null;
  }
  const nets = networksNamed(xml, paths, networks);
  // named only by an earlier record: the full path decides whether it is ours before any waiting
  if (nets.length === 0) return null;
  const fp = { runDir: paths.runDir, configPath: paths.configPath, leasesDir: paths.leasesDir };
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
