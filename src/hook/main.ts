import { armBudget, budgetMs, waitingFor } from './budget.js';
import { appendHookRecord } from './log-record.js';
import { mayFail } from './may-fail.js';
import { ourNetworks } from './our-networks.js';
import type { HookEngine, HookOutcome } from './outcome.js';
import type { OurNetwork } from './network-cache.js';
import { decide, type HookKind, hookEvent, namesOurs } from './prefilter.js';
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
  /** Our bridges as the shim knows them (baked at install), for an error before the config is read. */
  knownBridges?: () => string[];
  /** Overall budget in ms (default 45 s, NATNET_HOOK_BUDGET seconds) and what happens when it runs out (default: exit). */
  budgetMs?: number;
  exit?: (code: number) => void;
}

/**
 * Entry of the installed libvirt hooks: `<kind> <object> <op> <sub-op> <extra>`, XML on stdin.
 * Returns the exit status; writes at most one line to stderr and nothing to stdout.
 */
export async function runHook(kind: HookKind, argv: string[], opts: RunHookOptions = {}): Promise<number> {
  const started = performance.now();
  const ev = hookEvent(argv);
  const { object, op, sub, extra } = ev;
  const env = opts.env ?? process.env;
  const paths = hookPaths(opts, env);
  const writeError = opts.writeError ?? ((l: string) => process.stderr.write(l));
  const finish = (out: HookOutcome): number => {
    if (out.exit !== 0 && !mayFail(kind, op)) out = { ...out, exit: 0 };
    if (out.exit !== 0) writeError(`natnet-hook: ${out.error ?? out.action}\n`);
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
  };
  const ms = opts.budgetMs ?? budgetMs(env);
  const disarm = armBudget(ms, (what) => {
    const error = `${kind} hook ${op} ${JSON.stringify(object)}: gave up after ${ms / 1000} s waiting for ${what}`;
    (opts.exit ?? process.exit)(finish({ exit: 1, action: 'out of time', error }));
  });
  let xml = '';
  let networks: OurNetwork[] | null = null;
  let out: HookOutcome;
  try {
    xml = opts.stdin ?? readStdinSync();
    waitingFor('the config');
    networks = await ourNetworks(paths);
    waitingFor('the state directory');
    const quick = await decide(kind, ev, xml, paths, networks);
    if (quick) {
      out = { exit: 0, ...quick };
    } else {
      waitingFor('natnet-hook to load');
      const { runFull } = await import('./full.js');
      out = await runFull(kind, ev, xml, paths, networks, opts.engine);
    }
  } catch (e) {
    // a bug or a broken install/state: fail open, refuse only what names one of our bridges
    const msg = e instanceof Error ? e.message : String(e);
    const bridges = networks?.map((n) => n.bridge) ?? opts.knownBridges?.() ?? null;
    const ours = bridges === null || namesOurs(xml, bridges);
    const error = `${kind} hook ${op}: natnet-hook failed (${msg.split('\n')[0]})${ours ? '' : '; not on our bridges: let through'}`;
    out = { exit: ours && mayFail(kind, op) ? 1 : 0, action: 'internal error', error };
  } finally {
    disarm();
  }
  return finish(out);
}
