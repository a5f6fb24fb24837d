import type { HookKind } from '../argv/grammar.js';
import { engineLogFile } from '../state/layout.js';
import { NatnetError } from '../errors.js';
import pino from 'pino';
import { makeContext } from '../engine/context.js';
import type { HookEngine, HookEvent, HookOutcome } from './outcome.js';
import type { OurNetwork } from './network-cache.js';
import type { HookPaths } from './paths.js';
import { openLogFile } from './log-record.js';
import { safeLogger } from './safe-log.js';
import { waitingFor } from './budget.js';

/** The engine, naming what the hook waits for when its budget runs out (budget.ts). */
function labelled(engine: HookEngine): HookEngine {
  return {
    up: (ctx, o) => {
      waitingFor(`the host lock or a command bringing up ${o.networks?.join(', ') || 'the networks'}`);
      return engine.up(ctx, o);
    },
    down: (ctx, o) => {
      waitingFor(`the host lock or a command taking down ${o.networks?.join(', ') || 'the networks'}`);
      return engine.down(ctx, o);
    },
  };
}

/**
 * The hook's slow path, loaded only for VMs/networks on our bridges: a real Context and the
 * engine. The engine's own log goes to <logDir>/engine.log, not stderr: a failing hook's stderr
 * is the one line libvirt shows the user. A log that cannot be written is dropped (safe-log.ts).
 */
export async function runFull(
  kind: HookKind,
  ev: HookEvent,
  xml: string,
  paths: HookPaths,
  networks: OurNetwork[],
  engine?: HookEngine,
): Promise<HookOutcome> {
  const log = safeLogger(() => {
    // opened like hooks.log: no symlink followed, 0640
    const fd = openLogFile(engineLogFile(paths));
    if (fd === null) throw new NatnetError(`${engineLogFile(paths)} cannot be opened safely (a symlink or not a regular file)`);
    const dest = pino.destination({ dest: fd, sync: true });
    // a failed write (ENOSPC, EIO) is emitted as 'error': unheard, that would throw
    dest.on('error', () => {});
    return pino({ level: 'info', base: { pid: process.pid, hook: kind } }, dest);
  });
  const ctx = makeContext({ config: paths.configPath, stateDir: paths.stateDir ?? undefined, log, env: {} });
  const deps = { ctx, engine: labelled(engine ?? (await import('../engine/index.js'))), networks };
  if (kind === 'qemu') {
    const { handleQemu } = await import('./qemu.js');
    return handleQemu(ev, xml, deps);
  }
  const { handleNetwork } = await import('./network.js');
  return handleNetwork(ev, xml, deps);
}
