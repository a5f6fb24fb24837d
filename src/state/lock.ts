/**
 * The one host-wide lock for every engine run (hooks, CLI, listener): an abstract unix socket
 * bound under a name derived from the run dir (layout.ts lockSocketName). Binding is atomic and
 * the kernel frees the name when the socket closes — on release, or when the holder dies however
 * it dies — so there is no lock file, nothing stale to take over and nothing to parse. Files
 * named `lock` / `lock.break` left by older versions are ignored.
 *
 * Abstract names belong to a network namespace: the hooks, CLI and listener of one host all run
 * in the host's namespace (a test lab's namespace has a lock of its own).
 *
 * While held, the socket answers each connection with the holder's pid and argv (one JSON line)
 * and keeps it open until release: a waiter learns who holds the lock, and the connection closing
 * wakes it the moment the lock is free (no busy polling). The socket is CLOEXEC (libuv), so a
 * daemon started under the lock (dnsmasq) never inherits it.
 */
import { mkdirSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { LockError } from '../errors.js';
import { lockSocketName } from './layout.js';

/** Fits a hook's budget (prepare: 45 s overall) with room for the hook's own engine run. */
export const DEFAULT_LOCK_WAIT_MS = 30_000;
/** A waiting CLI says once who holds the lock after this long. */
export const HELD_NOTE_AFTER_MS = 2_000;
/** Fallback wake-up while waiting: a release normally wakes waiters at once (their connection closes). */
const POLL_MS = 200;
/** How long a waiter gives the holder to say who it is. */
const QUERY_MS = 500;
/** Retry delay when connecting to the holder fails outright (it is just releasing, or its backlog is full). */
const RETRY_MS = 20;

export interface LockOptions {
  /** Give up after this long (LockError naming the holder). Default DEFAULT_LOCK_WAIT_MS. */
  waitMs?: number;
  /** Called once when the wait passes HELD_NOTE_AFTER_MS, with who holds it ("pid 123 (natnet-hook up)"). */
  onHeld?: (holder: string) => void;
  /** Stop waiting (acquireLock resolves null) as soon as this turns true; checked at each wake-up. */
  unless?: () => boolean;
}

export interface HeldLock {
  /** Frees the lock; waiters wake at once. Idempotent. */
  release(): void;
  /**
   * Runs fn with this process's own nested withLock calls for the same run dir entering at once
   * (a group commit leader calling the engine, which takes the lock itself). Never for
   * concurrent, unrelated work in the same process: that would lose the exclusion.
   */
  lend<T>(fn: () => Promise<T>): Promise<T>;
}

type Net = typeof import('node:net');

/** node:net costs ~2 ms to load: only when a lock is actually taken, never on a hook's not-ours path. */
async function loadNet(): Promise<Net> {
  return (process.getBuiltinModule?.('node:net') as Net | undefined) ?? (await import('node:net'));
}

/**
 * One object per process under `key`, shared by every bundled copy of a module: the hook's
 * CommonJS prefilter and the ES module bundle it hands over to each carry their own copy.
 */
export function processWide<T>(key: string, make: () => T): T {
  const slots = globalThis as Record<symbol, unknown>;
  const sym = Symbol.for(`natnet-hook.${key}`);
  if (!(sym in slots)) slots[sym] = make();
  return slots[sym] as T;
}

/** Lent locks by socket name. */
const LENT = processWide('lent-locks', () => new Map<string, number>());

const IDENTITY = () => `${JSON.stringify({ pid: process.pid, argv: process.argv })}\n`;

/** One attempt: the held lock, or null when someone else holds it. */
async function bind(net: Net, name: string, runDir: string): Promise<HeldLock | null> {
  const conns = new Set<Socket>();
  const server: Server = net.createServer((sock) => {
    conns.add(sock);
    sock.unref();
    sock.on('error', () => {});
    sock.on('close', () => conns.delete(sock));
    sock.write(IDENTITY());
  });
  const listening = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') resolve(false);
      else reject(new LockError(`cannot take the lock of ${runDir}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ')));
    });
    server.listen({ path: name }, () => resolve(true));
  });
  if (!listening) return null;
  // never keep the process alive for the lock's sake
  server.unref();
  server.on('error', () => {});
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    server.close();
    for (const s of conns) s.destroy();
  };
  return {
    release,
    async lend<T>(fn: () => Promise<T>): Promise<T> {
      LENT.set(name, (LENT.get(name) ?? 0) + 1);
      try {
        return await fn();
      } finally {
        const n = (LENT.get(name) ?? 1) - 1;
        if (n > 0) LENT.set(name, n);
        else LENT.delete(name);
      }
    },
  };
}

/** Sleeps until the holder releases (its connection closes) or ms pass, whichever comes first. */
function sleepWhileHeld(net: Net, name: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let connected = false;
    let timer: NodeJS.Timeout;
    const sock = net.connect({ path: name });
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    };
    timer = setTimeout(done, Math.max(0, ms));
    sock.on('connect', () => {
      connected = true;
    });
    sock.on('data', () => {});
    sock.on('close', () => {
      if (connected) return done();
      // never connected (refused: it is just being released): retry soon, but never spin
      clearTimeout(timer);
      timer = setTimeout(done, Math.min(RETRY_MS, Math.max(0, ms)));
    });
    sock.on('error', () => {});
  });
}

/** What a holder says about itself, validated: it is input from another process. */
export function describeHolder(answer: unknown): string | null {
  if (!answer || typeof answer !== 'object') return null;
  const { pid, argv } = answer as { pid?: unknown; argv?: unknown };
  if (!Number.isInteger(pid) || (pid as number) < 1) return null;
  const words = Array.isArray(argv) ? argv.filter((a): a is string => typeof a === 'string') : [];
  // argv[0] is node; argv[1] the program (bin/natnet-hook, a hook shim): its base name, then the arguments
  const program = (words[1] ?? words[0] ?? '?').split('/').pop() ?? '?';
  let command = [program, ...words.slice(2)].join(' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  if (command.length > 200) command = `${command.slice(0, 200)}…`;
  return `pid ${pid} (${command})`;
}

/** Asks the holder who it is; null when it does not answer within QUERY_MS. */
function queryHolder(net: Net, name: string): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const sock = net.connect({ path: name });
    const finish = (v: string | null) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), QUERY_MS);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl >= 0 || text.length > 64 * 1024) {
        try {
          finish(describeHolder(JSON.parse(text.slice(0, nl >= 0 ? nl : text.length))));
        } catch {
          finish(null);
        }
      }
    });
    sock.on('error', () => finish(null));
    sock.on('close', () => finish(null));
  });
}

const whoHolds = async (net: Net, name: string) => (await queryHolder(net, name)) ?? 'a process that does not say who it is';

/** One attempt, no waiting: the lock, or null when it is held. */
export async function tryLock(runDir: string): Promise<HeldLock | null> {
  return bind(await loadNet(), lockSocketName({ runDir }), runDir);
}

/**
 * Waits (bounded) for the lock. Resolves null only when opts.unless turned true first; after
 * waitMs throws a one-line LockError naming the holder.
 */
export async function acquireLock(runDir: string, opts: LockOptions = {}): Promise<HeldLock | null> {
  const net = await loadNet();
  const name = lockSocketName({ runDir });
  const waitMs = opts.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  const started = Date.now();
  let noted = !opts.onHeld;
  for (;;) {
    if (opts.unless?.()) return null;
    const held = await bind(net, name, runDir);
    if (held) return held;
    const waited = Date.now() - started;
    if (waited >= waitMs) {
      const s = Math.round(waitMs / 100) / 10;
      throw new LockError(`${runDir}: the lock is held by ${await whoHolds(net, name)} for more than ${s} s; wait for it to finish, or stop it if it hangs`);
    }
    if (!noted && waited >= HELD_NOTE_AFTER_MS) {
      noted = true;
      opts.onHeld?.(await whoHolds(net, name));
      continue;
    }
    const next = noted ? waitMs : Math.min(waitMs, HELD_NOTE_AFTER_MS);
    await sleepWhileHeld(net, name, Math.min(POLL_MS, next - waited));
  }
}

/**
 * Runs fn holding the host-wide lock of runDir (created if missing, as callers expect), waiting
 * at most opts.waitMs for it. Inside a lend() of this process's own lock, fn runs at once.
 */
export async function withLock<T>(runDir: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  if ((LENT.get(lockSocketName({ runDir })) ?? 0) > 0) return fn();
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const held = (await acquireLock(runDir, { ...opts, unless: undefined })) as HeldLock;
  try {
    return await fn();
  } finally {
    held.release();
  }
}

/**
 * The engine's lock for a context; a dry run changes nothing, so it neither locks nor creates
 * the run dir. Who holds it, when waiting passes 2 s, goes to the context's log: stderr for the
 * CLI (once), engine.log for hooks (whose stderr is the one line libvirt shows).
 */
export function withEngineLock<T>(ctx: { runDir: string; dryRun: boolean; log: { warn(obj: object, msg?: string): void } }, fn: () => Promise<T>): Promise<T> {
  if (ctx.dryRun) return fn();
  return withLock(ctx.runDir, fn, { onHeld: (holder) => ctx.log.warn({ holder }, `waiting for the lock of ${ctx.runDir}: held by ${holder}`) });
}
