import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOurDnsmasq, isDnsmasqWithConf, parsePid, readPidFile, scanOurDnsmasq } from '../../src/observe/procfs.js';
import { spawnBackground } from '../../src/sys/spawn.js';

describe('pid files are hints, read strictly', () => {
  it.each([
    ['42\n', 42],
    ['', null],
    ['garbage', null],
    ['-1', null],
    ['0', null],
    ['42abc', null],
    ['99999999999', null],
    ['4194305', null],
  ])('%j -> %s', (text, pid) => {
    const file = join(mkdtempSync(join(tmpdir(), 'natnet-pid-')), 'x.pid');
    writeFileSync(file, text);
    expect(readPidFile(file)).toBe(pid);
  });
  it('parsePid takes digits only', () => {
    expect(parsePid('123')).toBe(123);
    expect(parsePid(' 123')).toBeNull();
    expect(parsePid('1e3')).toBeNull();
  });
});

describe('our dnsmasq is the one whose argv names our --conf-file', () => {
  it('argv check', () => {
    expect(isDnsmasqWithConf(['dnsmasq', '--conf-file=/r/n.conf'], '/r/n.conf')).toBe(true);
    expect(isDnsmasqWithConf(['/usr/sbin/dnsmasq', '--conf-file=/r/n.conf'], '/r/n.conf')).toBe(true);
    expect(isDnsmasqWithConf(['dnsmasq', '--conf-file=/r/other.conf'], '/r/n.conf')).toBe(false);
    expect(isDnsmasqWithConf(['node', '--', '--conf-file=/r/n.conf'], '/r/n.conf')).toBe(false);
    expect(isDnsmasqWithConf(['notdnsmasq', '--conf-file=/r/n.conf'], '/r/n.conf')).toBe(false);
  });

  it('a live process carrying our --conf-file that is not dnsmasq is never ours, whatever the pid file says', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-dm-'));
    const conf = join(dir, 'n.conf');
    const { child } = await spawnBackground([process.execPath, '-e', 'setTimeout(() => {}, 30000)', '--', `--conf-file=${conf}`]);
    try {
      await new Promise((r) => setTimeout(r, 100));
      writeFileSync(join(dir, 'n.pid'), `${child.pid}\n`);
      expect(scanOurDnsmasq(conf)).toEqual([]);
      expect(findOurDnsmasq(conf, join(dir, 'n.pid'))).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
