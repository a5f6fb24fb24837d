import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseSimpleToml } from '../../src/config/simple-toml.js';

/** Whatever the fast reader accepts, it must read exactly as smol-toml does. */
function same(text: string) {
  const fast = parseSimpleToml(text);
  if (fast === null) return 'fallback';
  expect(fast).toEqual(parse(text));
  return 'fast';
}

describe('the fast reader for plain leases.d files', () => {
  const fast = [
    'vm = "web"\nip = "192.168.100.10"\n',
    '# comment\n\nvm = "web 1 ü"   # trailing comment\nip="192.168.100.10"\r\nmac = ["52:54:00:aa:bb:01", "52:54:00:aa:bb:02",]\n',
    'mac = []\nhostname = "h"',
    '\tvm = "a#b"\n',
  ];
  for (const t of fast) it(`reads ${JSON.stringify(t)}`, () => expect(same(t)).toBe('fast'));

  const fallback = [
    'vm = "a\\"b"\n', // escape
    'vm = \'literal\'\n',
    'autostart = true\n',
    'n = 1\n',
    '[[lease]]\nvm = "a"\n',
    'mac = [\n  "52:54:00:aa:bb:01",\n]\n',
    '"quoted" = "x"\n',
    'a.b = "x"\n',
    'vm = "a"\nvm = "b"\n',
    'mac = ["a" "b"]\n',
    'vm = "a" junk\n',
    'vm = "a\u0001"\n',
    '__proto__ = "x"\n',
  ];
  for (const t of fallback) it(`leaves ${JSON.stringify(t)} to the real parser`, () => expect(parseSimpleToml(t)).toBeNull());
});
