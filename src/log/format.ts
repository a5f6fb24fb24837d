import { isatty } from 'node:tty';
import { LOG_FORMATS } from '../argv/grammar.js';
import { UsageError } from '../errors.js';

export { LOG_FORMATS };
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_FORMAT_ENV = 'NATNET_HOOK_LOG_FORMAT';

function isLogFormat(v: string): v is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(v);
}

/**
 * --log-format > NATNET_HOOK_LOG_FORMAT > human when stderr is a terminal, else json (a pipe,
 * a file, the journal). A value that is neither is a usage error naming where it came from.
 */
export function chooseLogFormat(given: string | undefined, env: NodeJS.ProcessEnv, stderrIsTty: () => boolean = () => isatty(2)): LogFormat {
  if (given !== undefined) {
    if (isLogFormat(given)) return given;
    throw new UsageError(`--log-format ${JSON.stringify(given)}: expected ${LOG_FORMATS.join(' or ')}`);
  }
  const fromEnv = env[LOG_FORMAT_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (isLogFormat(fromEnv)) return fromEnv;
    throw new UsageError(`${LOG_FORMAT_ENV}=${JSON.stringify(fromEnv)}: expected ${LOG_FORMATS.join(' or ')} (or unset it)`);
  }
  return stderrIsTty() ? 'human' : 'json';
}
