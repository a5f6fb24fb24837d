import { readFileSync } from 'node:fs';
import { parseMainConfig } from '../config/parse.js';
import { Problems } from '../config/problems.js';
import type { Context } from '../engine/context.js';
import { connectBus, systemBusAddress } from '../listen/bus.js';
import { makeEngineRepair } from '../listen/engine-repair.js';
import { Listener } from '../listen/listener.js';
import { type ListenerOverrides, resolveListenerOptions } from '../listen/options.js';

export interface ListenCommandOptions extends ListenerOverrides {}

/** The [listener] table, even when other parts of the config are invalid (repairs then log the problem). */
function rawListenerTable(ctx: Context): Record<string, unknown> {
  let text = '';
  try {
    text = readFileSync(ctx.configPath, 'utf8');
  } catch {
    return {};
  }
  return parseMainConfig(text, new Problems(ctx.configPath)).listener;
}

/**
 * `natnet-hook listen`: run until SIGTERM/SIGINT (resolves) or until the bus is lost
 * for good (throws a NatnetError: exit 1, systemd restarts the service). SIGHUP adopts the
 * config file (Node's default for SIGHUP would end the process).
 */
export async function runListen(ctx: Context, opts: ListenCommandOptions = {}): Promise<void> {
  const options = resolveListenerOptions(rawListenerTable(ctx), ctx.configPath, opts);
  const listener = new Listener({
    connect: () => connectBus(),
    busAddress: systemBusAddress(),
    repair: makeEngineRepair(ctx),
    runDir: ctx.runDir,
    log: ctx.log,
    options,
  });
  const stop = (sig: string) => {
    ctx.log.info({ signal: sig }, 'stopping');
    void listener.stop();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  const onHup = () => listener.reload();
  // a stray rejection deep in dbus-next must not kill a long-running service
  const onRejection = (e: unknown) => ctx.log.error({ err: e instanceof Error ? e.message : String(e) }, 'unhandled rejection');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  process.on('unhandledRejection', onRejection);
  ctx.log.info({ intervalMs: options.intervalMs, firewalldZone: options.firewalldZone, runDir: ctx.runDir }, 'listener starting');
  try {
    await listener.run();
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    process.off('unhandledRejection', onRejection);
  }
}
