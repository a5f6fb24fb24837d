import { loadConfig } from '../config/load.js';
import type { Context } from '../engine/context.js';
import { appliedNetworks, type NetworkChange, selectNetworks, up } from '../engine/index.js';
import { displayArgv, ExitCode, NatnetError } from '../errors.js';
import { isOurListener } from '../listen/identity.js';
import { type ListenerStatusView, readListenerStatus } from '../listen/status-file.js';

/** The listener answered that it did not adopt the config (exit 3 when the config was the reason). */
class ReloadRefused extends NatnetError {
  constructor(
    message: string,
    override readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ReloadOptions {
  /** How long to wait for the listener's answer. */
  waitMs?: number;
  pollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Text from the status file is untrusted: one printable line each. */
const lines = (text: string) => text.split('\n').map((l) => displayArgv([l]));

/** The running listener of this state dir, confirmed in /proc; null when none runs. */
export function runningListener(ctx: Context): ListenerStatusView | null {
  const st = readListenerStatus(ctx.runDir);
  return st?.running && isOurListener(st.pid, ctx.runDir) ? st : null;
}

/**
 * `natnet-hook reload [network]`: validate the config, then have it adopted by the networks that
 * are up: by the running listener (SIGHUP, waiting for its answer), else directly. A network named
 * is applied directly (the listener adopts whole configs); the listener repairs against it from then on.
 */
export async function runReload(ctx: Context, network: string | undefined, o: ReloadOptions = {}): Promise<void> {
  const config = loadConfig(ctx);
  if (network) selectNetworks(config.networks, [network]);
  const listener = runningListener(ctx);
  if (listener && !network) return reloadViaListener(ctx, listener, o);
  const applied = appliedNetworks(ctx);
  const names = network ? [network] : applied;
  if (!names.some((n) => applied.includes(n))) {
    process.stdout.write(
      network ? `${network}: not up, nothing to reload (natnet-hook up ${network} brings it up)\n` : 'no network is up: nothing to reload (natnet-hook up brings networks up)\n',
    );
    return;
  }
  const changes = await up(ctx, { ifApplied: names, reason: 'cli reload' });
  const how = listener ? `${network}: applied directly (the listener adopts whole configs only)` : 'no listener running: applied directly';
  process.stdout.write(`${how}\n${changeLines(changes, ctx.dryRun)}`);
}

function changeLines(changes: NetworkChange[], dryRun: boolean): string {
  return changes
    .map((c) => (c.actions.length === 0 ? `${c.network}: nothing to change\n` : `${c.network}: ${dryRun ? 'would do' : 'done'}:\n${c.actions.map((a) => `  - ${a}\n`).join('')}`))
    .join('');
}

async function reloadViaListener(ctx: Context, before: ListenerStatusView, o: ReloadOptions): Promise<void> {
  // above the engine lock's wait (30 s), which the listener's run may have to sit out
  const waitMs = o.waitMs ?? 45_000;
  const pid = before.pid;
  const target = (before.reloadsRequested ?? 0) + 1;
  if (ctx.dryRun) {
    process.stdout.write(`would ask the listener (pid ${pid}) to adopt ${ctx.configPath} (SIGHUP)\n`);
    return;
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (e) {
    throw new NatnetError(`cannot signal the listener (pid ${pid}): ${(e as NodeJS.ErrnoException).code ?? String(e)} (run as root)`);
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const st = readListenerStatus(ctx.runDir);
    const answer = st?.pid === pid ? st.lastReload : null;
    if (answer && answer.covers >= target) {
      if (!answer.ok) {
        const configRejected = st?.configError?.reload === true && st.configError.at === answer.time;
        throw new ReloadRefused(
          [`the listener (pid ${pid}) did not adopt ${ctx.configPath}; nothing was applied:`, ...lines(answer.error ?? 'no reason given')].join('\n'),
          configRejected ? ExitCode.config : ExitCode.failure,
        );
      }
      const actions = answer.actions.flatMap(lines);
      process.stdout.write(
        `the listener (pid ${pid}) adopted ${ctx.configPath}: ${actions.length ? `done:\n${actions.map((a) => `  - ${a}\n`).join('')}` : 'nothing to change\n'}`,
      );
      return;
    }
    if (!st || st.pid !== pid || !st.running) {
      throw new NatnetError(`the listener (pid ${pid}) stopped before answering the reload (see its log: journalctl -u natnet-hook-listen)`);
    }
    if (Date.now() >= deadline) {
      throw new NatnetError(`the listener (pid ${pid}) did not answer the reload within ${Math.round(waitMs / 1000)} s (is a repair stuck? natnet-hook status)`);
    }
    await sleep(o.pollMs ?? 100);
  }
}
