import { createRequire } from 'node:module';
import { LOG_FORMATS } from '../argv/grammar.js';
import { UsageError } from '../errors.js';

export { LOG_FORMATS };
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_FORMAT_ENV = 'NATNET_HOOK_LOG_FORMAT';

function isLogFormat(v: string): v is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(v);
}

/**
 * --log-format > NATNET_HOOK_LOG_FORMAT > 'auto' (decided by whether stderr is a terminal). A value
 * that is neither format is a usage error naming where it came from. Checked when the logger is
 * made, before anything runs.
 */
export function requestedLogFormat(given: string | undefined, env: NodeJS.ProcessEnv): LogFormat | 'auto' {
  if (given !== undefined) {
    if (isLogFormat(given)) return given;
    throw new UsageError(`--log-format ${JSON.stringify(given)}: expected ${LOG_FORMATS.join(' or ')}`);
  }
  const fromEnv = env[LOG_FORMAT_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (isLogFormat(fromEnv)) return fromEnv;
    throw new UsageError(`${LOG_FORMAT_ENV}=${JSON.stringify(fromEnv)}: expected ${LOG_FORMATS.join(' or ')} (or unset it)`);
  }
  return 'auto';
}

/**
 * Whether fd 2 is a terminal. node:tty pulls in net and streams (~25 modules): loaded only when a
 * line is actually logged, never by a run with nothing to say (`up` with nothing to change).
 */
export function stderrIsTerminal(): boolean {
  const { isatty } = createRequire(import.meta.url)('node:tty') as typeof import('node:tty');
  return isatty(2);
}

/** The format in use: human when stderr is a terminal, else json (a pipe, a file, the journal), unless asked otherwise. */
export function chooseLogFormat(given: string | undefined, env: NodeJS.ProcessEnv, stderrIsTty: () => boolean = stderrIsTerminal): LogFormat {
  const asked = requestedLogFormat(given, env);
  if (asked !== 'auto') return asked;
  return stderrIsTty() ? 'human' : 'json';
}
