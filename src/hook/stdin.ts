import { readFileSync } from 'node:fs';

/** All of stdin (libvirt writes the XML and closes it); '' when stdin is a TTY or closed. */
export function readStdinSync(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}
