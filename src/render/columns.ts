/** Control characters of a cell (a VM name, a file's content) escaped: one row stays one line. */
function cell(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** A header row and rows in left-aligned columns two spaces apart (pure; the last column is not padded). */
export function renderColumns(header: string[], rows: string[][]): string {
  const all = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n').concat('\n');
}
