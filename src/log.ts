import { createRequire } from 'node:module';
import type pino from 'pino';

type LogFn = {
  (obj: object, msg?: string): void;
  (msg: string): void;
};

/** The part of pino's logger the program uses; a pino.Logger is one. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const RANK = { debug: 20, info: 30, warn: 40, error: 50, silent: Number.POSITIVE_INFINITY } as const;

/**
 * Structured JSON logs (pino) on stderr (fd 2), never stdout: hooks must keep stdout clean.
 * pino is loaded on the first line actually logged: a run with nothing to do logs nothing,
 * and `up` with nothing to change is measured against `node -e 0`.
 */
export function makeLogger(opts: { verbose?: boolean; quiet?: boolean } = {}): Logger {
  const level = opts.verbose ? 'debug' : opts.quiet ? 'warn' : 'info';
  let real: pino.Logger | undefined;
  const get = () => {
    if (!real) {
      const load = loadPino();
      real = load({ level, base: { pid: process.pid } }, load.destination({ dest: 2, sync: true }));
    }
    return real;
  };
  const at =
    (name: 'debug' | 'info' | 'warn' | 'error'): LogFn =>
    (a: object | string, msg?: string) => {
      if (RANK[name] < RANK[level]) return;
      if (typeof a === 'string') get()[name](a);
      else get()[name](a, msg);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * In the CommonJS bundle `require` exists and esbuild bundles pino behind it (lazily evaluated,
 * ~8 ms less than resolving its files at run time); the plain ES modules of dist/ resolve it.
 */
function loadPino(): typeof pino {
  return (typeof require === 'function' ? require('pino') : createRequire(import.meta.url)('pino')) as typeof pino;
}

export function silentLogger(): Logger {
  const nothing = () => {};
  return { debug: nothing, info: nothing, warn: nothing, error: nothing };
}
