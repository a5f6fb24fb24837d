/** The selftest's PASS/FAIL table (pure). */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** Evidence: what was seen (and, on failure, what was expected). */
  detail: string;
}

export function formatTable(title: string, results: CheckResult[]): string {
  const width = Math.max(5, ...results.map((r) => r.name.length));
  const lines = [title, `${'RESULT'.padEnd(6)}  ${'CHECK'.padEnd(width)}  DETAIL`];
  for (const r of results) {
    lines.push(`${(r.ok ? 'PASS' : 'FAIL').padEnd(6)}  ${r.name.padEnd(width)}  ${oneLine(r.detail)}`);
  }
  const passed = results.filter((r) => r.ok).length;
  lines.push(`${passed}/${results.length} checks passed${passed === results.length ? '' : ` — ${results.length - passed} FAILED`}`);
  return `${lines.join('\n')}\n`;
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
