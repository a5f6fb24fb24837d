import type { ConfigProblem } from '../errors.js';

/** Collects every problem of one file instead of stopping at the first. */
export class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(readonly file: string) {}

  add(field: string, value: unknown, expected: string): void {
    this.list.push({ file: this.file, field, value, expected });
  }

  forFile(file: string): Problems {
    const child = new Problems(file);
    (child as { list: ConfigProblem[] }).list = this.list;
    return child;
  }
}

/** "lease[2]" + "ip" → "lease[2].ip"; "" + "ip" → "ip" (top level of a leases.d file). */
export function joinField(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}
