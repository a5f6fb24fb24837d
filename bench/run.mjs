// `npm run bench`: runs every benchmark module present and prints one table.
// Rows: {name, value, unit, baseline?, ratio?, goal?, ok?} or {name, skipped} or {name, error}.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');
// BENCH_MODULES=engine.mjs runs only those modules.
const MODULES = process.env.BENCH_MODULES?.split(',') ?? ['engine.mjs', 'hook.mjs', 'listener.mjs', 'live-change.mjs'];

if (!existsSync(join(REPO, 'dist', 'cli.js'))) {
  process.stderr.write('bench: dist/ missing, run `npm run build` first\n');
  process.exit(1);
}

const rows = [];
for (const file of MODULES) {
  const path = join(HERE, file);
  if (!existsSync(path)) continue;
  try {
    const mod = await import(pathToFileURL(path).href);
    for (const row of await mod.bench()) rows.push({ module: file, ...row });
  } catch (e) {
    rows.push({ module: file, name: file, error: e.message });
  }
}

const cell = (r) => {
  if (r.skipped) return ['', '', '', '', `SKIPPED: ${r.skipped}`];
  if (r.error) return ['', '', '', '', `ERROR: ${r.error}`];
  const value = `${r.value} ${r.unit ?? ''}`.trim();
  const baseline = r.baseline === undefined ? '' : `${r.baseline} ${r.unit ?? ''}`.trim();
  const ratio = r.ratio === undefined ? '' : `${r.ratio}×`;
  const verdict = r.ok === undefined ? '' : r.ok ? 'met' : 'MISSED';
  return [value, baseline, ratio, r.goal ?? '', verdict];
};
const table = [['benchmark', 'value', 'baseline', 'ratio', 'goal', ''], ...rows.map((r) => [r.name, ...cell(r)])];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
const line = (row) => `| ${row.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
process.stdout.write(`${[line(table[0]), line(widths.map((w) => '-'.repeat(w))), ...table.slice(1).map(line)].join('\n')}\n`);
process.exitCode = rows.some((r) => r.error) ? 1 : 0;
