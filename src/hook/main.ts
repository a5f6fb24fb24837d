import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { domainFileName } from '../engine/domains.js';
import { scanInterfaces, scanNetworkBridge } from '../libvirt/scan.js';
import { bridgeOfLibvirtNetwork, readLibvirtNetworks } from './libvirt-networks.js';
import { appendHookRecord } from './log-record.js';
import { type OurNetwork, ourNetworks } from './our-networks.js';
import type { HookEngine, HookEvent, HookOutcome } from './outcome.js';
import { type HookOptions, type HookPaths, hookPaths } from './paths.js';
import { readStdinSync } from './stdin.js';

export type HookKind = 'qemu' | 'network';

export interface RunHookOptions extends HookOptions {
  /** The XML; default: read all of stdin. */
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the one error line goes (default stderr). Never stdout. */
  writeError?: (line: string) => void;
  /** Tests: a fake engine instead of the real one. */
  engine?: HookEngine;
}

/** Operations where a non-zero exit stops something and the user should see why. */
const MAY_FAIL: Record<HookKind, Set<string>> = {
  qemu: new Set(['prepare']),
  network: new Set(['start', 'port-created']),
};

/** Could this event concern one of our bridges? Cheap: no XML parser, no config parser on a cache hit. */
function mayConcernUs(kind: HookKind, ev: HookEvent, xml: string, paths: HookPaths, networks: OurNetwork[]): boolean {
  const ours = new Set(networks.map((n) => n.bridge));
  if (kind === 'network') {
    const plugs = [...xml.matchAll(/<plug\b[^>]*\bbridge\s*=\s*['"]([^'"]*)['"]/g)].map((m) => m[1]);
    const bridges = [scanNetworkBridge(xml), ...plugs];
    return bridges.some((b) => b !== null && ours.has(b));
  }
  const scan = scanInterfaces(xml);
  if (scan.bridges.some((b) => ours.has(b))) return true;
  if (scan.networks.length > 0) {
    const map = readLibvirtNetworks(paths.libDir);
    if (scan.networks.some((n) => ours.has(bridgeOfLibvirtNetwork(map, n) ?? ''))) return true;
  }
  // a VM we recorded earlier (its stop, or a port-created taught us its bridge)
  return existsSync(join(paths.libDir, 'domains', domainFileName(ev.object)));
}

/**
 * Entry of the installed libvirt hooks: `<kind> <object> <op> <sub-op> <extra>`, XML on stdin.
 * Returns the exit status; writes at most one line to stderr and nothing to stdout.
 */
export async function runHook(kind: HookKind, argv: string[], opts: RunHookOptions = {}): Promise<number> {
  const started = performance.now();
  const [object = '-', op = '-', sub = '-', extra = '-'] = argv;
  const ev: HookEvent = { object, op, sub, extra };
  const paths = hookPaths(opts, opts.env ?? process.env);
  let out: HookOutcome;
  try {
    const xml = opts.stdin ?? readStdinSync();
    const networks = await ourNetworks(paths);
    if (!mayConcernUs(kind, ev, xml, paths, networks)) {
      out = { exit: 0, action: 'ignored (not on our bridges)' };
    } else {
      const { runFull } = await import('./full.js');
      out = await runFull(kind, ev, xml, paths, networks, opts.engine);
    }
  } catch (e) {
    // a bug or an unexpected environment: stop only what must be stopped
    const msg = e instanceof Error ? e.message : String(e);
    out = { exit: MAY_FAIL[kind].has(op) ? 1 : 0, action: 'internal error', error: `${kind} hook ${op}: ${msg.split('\n')[0]}` };
  }
  if (out.exit !== 0 && !MAY_FAIL[kind].has(op)) out = { ...out, exit: 0 };
  if (out.exit !== 0) (opts.writeError ?? ((l) => process.stderr.write(l)))(`natnet-hook: ${out.error ?? out.action}\n`);
  appendHookRecord(paths.logDir, {
    hook: kind,
    event: [object, op, sub, extra].join(' '),
    vm: out.vm ?? (kind === 'qemu' ? object : undefined),
    network: kind === 'network' ? object : undefined,
    networks: out.networks,
    action: out.action,
    result: out.error ? 'error' : 'ok',
    error: out.error,
    exit: out.exit,
    ms: Math.round((performance.now() - started) * 10) / 10,
    changes: out.changes?.length ? out.changes : undefined,
  });
  return out.exit;
}
