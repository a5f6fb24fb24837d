import { fstatSync } from 'node:fs';

export type LevelName = 'debug' | 'info' | 'warn' | 'error';

/** sd-daemon(3) priority prefixes: journald strips them and files the line at that priority. */
export const JOURNAL_PRIORITY: Record<LevelName, number> = { error: 3, warn: 4, info: 6, debug: 7 };

export const journalPrefix = (level: LevelName) => `<${JOURNAL_PRIORITY[level]}>`;

/**
 * stderr is connected to the journal: systemd sets JOURNAL_STREAM to the stream's "DEV:INODE",
 * and it counts only when fd 2 is still that stream (a child that redirected stderr inherits the
 * variable; systemd.exec(5)).
 */
export function isJournalStream(env: NodeJS.ProcessEnv, fd = 2): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]) && st.ino === BigInt(m[2]);
  } catch {
    return false;
  }
}
