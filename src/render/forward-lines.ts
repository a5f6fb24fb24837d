import type { ForwardStatus } from '../engine/forward-status.js';

/** The forward lines of `status` (text): one per forward, listen:port/proto -> VM ip:port. */
export function forwardLines(forwards: ForwardStatus[] | undefined): string[] {
  if (!forwards?.length) return [];
  return [
    `       forwards  ${forwards.length}`,
    ...forwards.map(
      (f) =>
        `         ${f.state === 'ok' ? 'ok  ' : 'FAIL'} ${f.listen}:${f.port}/${f.proto} -> ${f.vm} ${f.target}` +
        `${f.sources.length ? ` from ${f.sources.join(',')}` : ''}${f.why ? ` (${f.why})` : ''}`,
    ),
  ];
}
