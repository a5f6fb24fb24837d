import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8, invalidUtf8Where, readText, UnreadableFileError } from '../../src/config/read-text.js';

const dir = mkdtempSync(join(tmpdir(), 'natnet-read-'));

function why(path: string): string {
  try {
    readText(path);
  } catch (e) {
    expect(e).toBeInstanceOf(UnreadableFileError);
    return (e as Error).message;
  }
  throw new Error(`${path} was read`);
}

describe('readText', () => {
  it('reads small, multi-byte and larger-than-the-buffer files exactly; null when absent', () => {
    const big = `${'é'.repeat(70_000)}\nend`;
    writeFileSync(join(dir, 'big'), big);
    writeFileSync(join(dir, 'small'), 'vm = "ü"\n');
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'replacement'), 'vm = "\uFFFD"\n'); // a real U+FFFD is valid text
    expect(readText(join(dir, 'big'))).toBe(big);
    expect(readText(join(dir, 'small'))).toBe('vm = "ü"\n');
    expect(readText(join(dir, 'empty'))).toBe('');
    expect(readText(join(dir, 'replacement'))).toBe('vm = "\uFFFD"\n');
    expect(readText(join(dir, 'missing'))).toBeNull();
    symlinkSync(join(dir, 'small'), join(dir, 'link'));
    expect(readText(join(dir, 'link'))).toBe('vm = "ü"\n');
  });

  it('a FIFO is refused at once, with or without a writer (never blocks)', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(why(fifo)).toBe('expected a regular file, found a FIFO (named pipe)');
  });

  it('trusting a listing that said "regular file" (no fstat) still never blocks on a FIFO swapped in', () => {
    const fifo = join(dir, 'swapped');
    execFileSync('mkfifo', [fifo]);
    expect(readText(fifo, true)).toBe(''); // O_NONBLOCK, no writer: EOF at once
    expect(readText(join(dir, 'small'), true)).toBe('vm = "ü"\n');
  });

  it('directories, sockets and devices are refused, naming what they are', async () => {
    mkdirSync(join(dir, 'adir'));
    expect(why(join(dir, 'adir'))).toBe('expected a regular file, found a directory');
    expect(why('/dev/null')).toBe('expected a regular file, found a character device');
    symlinkSync('/dev/zero', join(dir, 'zero'));
    expect(why(join(dir, 'zero'))).toBe('expected a regular file, found a character device');
    const sock = join(dir, 'sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      expect(why(sock)).toBe('expected a regular file, found a socket');
    } finally {
      server.close();
    }
  });

  it('a symlink loop or an unreadable file says what failed and the code', () => {
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
    expect(why(join(dir, 'loop'))).toMatch(/^cannot open: .* \(ELOOP\)$/);
    if (process.getuid?.() !== 0) {
      writeFileSync(join(dir, 'secret'), 'x');
      chmodSync(join(dir, 'secret'), 0);
      expect(why(join(dir, 'secret'))).toBe('cannot open: permission denied (EACCES)');
    }
  });

  it('bytes that are not UTF-8 are an error with the offset and line, never U+FFFD', () => {
    writeFileSync(join(dir, 'latin1'), Buffer.from('vm = "a"\nip = "1"\nhostname = "caf\xe9"\n', 'latin1'));
    expect(why(join(dir, 'latin1'))).toBe('expected UTF-8 text, invalid byte 0xe9 at offset 33 (line 3)');
  });
});

describe('firstInvalidUtf8', () => {
  const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes));
  it.each([
    ['ASCII', [0x61, 0x62], -1],
    ['2, 3 and 4 byte characters', [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], -1],
    ['a lone continuation byte', [0x61, 0x80], 1],
    ['overlong 2-byte', [0xc0, 0x80], 0],
    ['overlong 3-byte', [0x61, 0xe0, 0x80, 0x80], 1],
    ['a surrogate', [0xed, 0xa0, 0x80], 0],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['0xf5', [0xf5, 0x80, 0x80, 0x80], 0],
    ['a character cut off at the end', [0x61, 0x62, 0xe2, 0x82], 2],
    ['a character cut off by ASCII', [0xc3, 0x61], 0],
  ])('%s', (_name, bytes, expected) => {
    expect(at(...bytes)).toBe(expected);
    // agrees with the platform's fatal decoder
    const valid = (() => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
        return true;
      } catch {
        return false;
      }
    })();
    expect(valid).toBe(expected === -1);
  });

  it('names the line', () => {
    expect(invalidUtf8Where(Buffer.from('a\nb\n\xff', 'latin1'))).toBe('invalid byte 0xff at offset 4 (line 3)');
  });
});
