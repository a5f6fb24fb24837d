/**
 * The plain form almost every leases.d file has — `key = "text"` and `key = ["a", "b"]`
 * lines, comments, blank lines — read without the full TOML parser (with 10,000 files the
 * parser was ~40 ms of `lease add`). Anything else (escapes, numbers, booleans, tables,
 * multi-line arrays, quoted or dotted keys, a repeated key) returns null and the caller
 * uses the real parser, so the result is always what smol-toml would give.
 */
const WS = '[ \\t]*';
const STR = '"([^"\\\\\\u0000-\\u001f\\u007f]*)"';
const COMMENT = `(?:#[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*)?`;
const BLANK = new RegExp(`^${WS}${COMMENT}$`);
const STRING_LINE = new RegExp(`^${WS}([A-Za-z0-9_-]+)${WS}=${WS}${STR}${WS}${COMMENT}$`);
const ARRAY_LINE = new RegExp(`^${WS}([A-Za-z0-9_-]+)${WS}=${WS}\\[${WS}((?:"[^"\\\\\\u0000-\\u001f\\u007f]*"${WS},?${WS})*)\\]${WS}${COMMENT}$`);
const ARRAY_ITEM = /"([^"]*)"[ \t]*(,?)[ \t]*/g;

export function parseSimpleToml(text: string): Record<string, string | string[]> | null {
  const out: Record<string, string | string[]> = {};
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (BLANK.test(line)) continue;
    let key: string;
    let value: string | string[];
    const s = STRING_LINE.exec(line);
    if (s) {
      key = s[1];
      value = s[2];
    } else {
      const a = ARRAY_LINE.exec(line);
      if (!a) return null;
      key = a[1];
      value = [];
      const items = [...a[2].matchAll(ARRAY_ITEM)];
      // every item but the last needs its comma (a trailing comma is fine in TOML)
      if (items.slice(0, -1).some((m) => m[2] !== ',')) return null;
      for (const m of items) value.push(m[1]);
    }
    if (Object.hasOwn(out, key) || key === '__proto__') return null;
    out[key] = value;
  }
  return out;
}
