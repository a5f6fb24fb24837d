import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stderr (fd 2), never stdout: hooks must keep stdout clean. */
export function makeLogger(opts: { verbose?: boolean; quiet?: boolean } = {}): Logger {
  const level = opts.verbose ? 'debug' : opts.quiet ? 'warn' : 'info';
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
