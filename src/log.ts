import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type pino from 'pino';
import { type LogFormat, requestedLogFormat, stderrIsTerminal } from './log/format.js';
import { humanLine } from './log/human.js';
import { isJournalStream, journalPrefix, type LevelName } from './log/journal.js';

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

export interface LoggerOptions {
  verbose?: boolean;
  quiet?: boolean;
  /** --log-format: 'human' or 'json'; absent = NATNET_HOOK_LOG_FORMAT, else by whether stderr is a terminal. */
  format?: string;
  env?: NodeJS.ProcessEnv;
  /** Tests: what stands for "stderr is a terminal". */
  stderrIsTty?: () => boolean;
  /** Tests: the descriptor standing for stderr (default 2). */
  fd?: number;
}

/**
 * Logs on stderr (fd 2), never stdout: hooks must keep stdout clean. For a person (a terminal or
 * --log-format human) short plain lines (log/human.ts); otherwise pino's JSON lines. When stderr
 * is the journal, every line starts with its syslog priority (<3> error … <7> debug).
 * pino is loaded on the first JSON line actually logged: a run with nothing to do logs nothing,
 * and `up` with nothing to change is measured against `node -e 0`. The human form never loads it.
 */
export function makeLogger(opts: LoggerOptions = {}): Logger {
  const env = opts.env ?? process.env;
  const level = opts.verbose ? 'debug' : opts.quiet ? 'warn' : 'info';
  const asked = requestedLogFormat(opts.format, env);
  let format: LogFormat | undefined = asked === 'auto' ? undefined : asked;
  const fd = opts.fd ?? 2;
  const journal = isJournalStream(env, fd);
  let real: pino.Logger | undefined;
  // the level of the line pino is writing right now (its writes are synchronous)
  let writing: LevelName = 'info';
  const get = () => {
    if (!real) {
      const load = loadPino();
      const dest = journal ? { write: (line: string) => writeAll(fd, `${journalPrefix(writing)}${line}`) } : load.destination({ dest: fd, sync: true });
      real = load({ level, base: { pid: process.pid } }, dest);
    }
    return real;
  };
  const at =
    (name: LevelName): LogFn =>
    (a: object | string, msg?: string) => {
      if (RANK[name] < RANK[level]) return;
      format ??= (opts.stderrIsTty ?? stderrIsTerminal)() ? 'human' : 'json';
      if (format === 'human') {
        const line = typeof a === 'string' ? humanLine(name, undefined, a) : humanLine(name, a as Record<string, unknown>, msg);
        writeAll(fd, `${journal ? journalPrefix(name) : ''}${line}\n`);
        return;
      }
      writing = name;
      if (typeof a === 'string') get()[name](a);
      else get()[name](a, msg);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The whole line on fd; a non-blocking stderr that is full is retried briefly, a closed one is dropped. */
function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text);
  for (let tries = 0; buf.length > 0 && tries < 1000; ) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      tries++;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
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
