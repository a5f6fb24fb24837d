import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

/**
 * A hook must never fail a VM start because its log cannot be written (read-only /var/log, full
 * disk): a logger that cannot be made becomes the silent one, and every write error is dropped.
 */
export function safeLogger(make: () => Logger): Logger {
  let inner: Logger;
  try {
    inner = make();
  } catch {
    return silentLogger();
  }
  const guard =
    (name: keyof Logger) =>
    (a: object | string, msg?: string): void => {
      try {
        if (typeof a === 'string') inner[name](a);
        else inner[name](a, msg);
      } catch {
        // nothing sensible left to do
      }
    };
  return { debug: guard('debug'), info: guard('info'), warn: guard('warn'), error: guard('error') };
}
