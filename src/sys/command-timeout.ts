import { ConfigError } from '../errors.js';

/** Seconds any external command may run before it is killed, unless the environment says otherwise. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 30;
export const COMMAND_TIMEOUT_VARIABLE = 'NATNET_HOOK_COMMAND_TIMEOUT';
/** A command that ignores SIGTERM gets SIGKILL this long after it. */
export const KILL_AFTER_SECONDS = 3;
/** What the timeout error suggests. */
export const COMMAND_TIMEOUT_FIX = `something holds it up; ${COMMAND_TIMEOUT_VARIABLE}=<seconds> allows longer`;

const SECONDS = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const MAX_SECONDS = 24 * 3600;

/** NATNET_HOOK_COMMAND_TIMEOUT (seconds, > 0, ≤ one day) or the default; a bad value is a ConfigError naming the variable. */
export function commandTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[COMMAND_TIMEOUT_VARIABLE];
  if (raw === undefined || raw.trim() === '') return DEFAULT_COMMAND_TIMEOUT_SECONDS;
  const value = raw.trim();
  const seconds = SECONDS.test(value) ? Number(value) : Number.NaN;
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) {
    throw new ConfigError([
      {
        file: 'environment',
        field: COMMAND_TIMEOUT_VARIABLE,
        value: raw,
        expected: `seconds each external command may run, a number > 0 and <= ${MAX_SECONDS} (unset: ${DEFAULT_COMMAND_TIMEOUT_SECONDS})`,
      },
    ]);
  }
  return seconds;
}
