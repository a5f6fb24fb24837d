import { appendHookRecord } from './log-record.js';
import { ourNetworks } from './our-networks.js';
import type { HookEngine, HookOutcome } from './outcome.js';
import { decide, type HookKind, hookEvent } from './prefilter.js';
import { type HookOptions, hookPaths } from './paths.js';
import { readStdinSync } from './stdin.js';

export type { HookKind };

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

/**
 * Entry of the installed libvirt hooks: `<kind> <object> <op> <sub-op> <extra>`, XML on stdin.
 * Returns the exit status; writes at most one line to stderr and nothing to stdout.
 */
export async function runHook(kind: HookKind, argv: string[], opts: RunHookOptions = {}): Promise<number> {
  const started = performance.now();
  const ev = hookEvent(argv);
  const { object, op, sub, extra } = ev;
  const paths = hookPaths(opts, opts.env ?? process.env);
  let out: HookOutcome;
  try {
    const xml = opts.stdin ?? readStdinSync();
    const networks = await ourNetworks(paths);
    const quick = await decide(kind, ev, xml, paths, networks);
    if (quick) {
      out = { exit: 0, ...quick };
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
