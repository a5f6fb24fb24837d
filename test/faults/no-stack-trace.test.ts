/**
 * No stack trace ever reaches a user: every failing case we can produce, through the built CLI,
 * exits non-zero with one "natnet-hook: ..." line per problem and no "    at ".
 *
 * To add a case, append to CASES: what to set up in the case's own directory (config, leases.d,
 * state: see CaseDir), the command, and optionally the user, the number of lines and words the
 * message must name. Cases run in a Lab namespace, so even a case that gets further than
 * expected cannot touch the host's network.
 */
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inNs } from '../../src/selftest/exec.js';
import { spawnBackground } from '../../src/sys/spawn.js';
import { LAB_BINS, leaseToml } from '../helpers/lab-config.js';
import { BIN, } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';
import { useLab } from '../helpers/use-lab.js';
import { type CaseDir, caseDir, expectOneLineFailure, mkfifo, mksocket, NOBODY, runCli, type RunOptions } from './cli-cases.js';

interface FailingCase {
  name: string;
  /** Prepares the case's directory; the config starts empty (the default network). */
  setup?: (c: CaseDir) => void | Promise<void>;
  args: string[] | ((c: CaseDir) => string[]);
  run?: RunOptions;
  /** Exit code, when one is promised (3 for config errors). */
  code?: number;
  /** Exactly this many stderr lines (one per problem). */
  lines?: number;
  /** Text the message must contain; a function gets the case's paths. */
  mentions?: (c: CaseDir) => string[];
}

const leasesFile = (c: CaseDir, name: string) => {
  mkdirSync(c.leasesDir, { recursive: true, mode: 0o755 });
  return join(c.leasesDir, name);
};
/** path, after removing what is there (the case's empty config). */
const fresh = (path: string) => {
  rmSync(path, { force: true });
  return path;
};
/** mkdir -p, then exactly this mode (mkdir's own mode is masked by the umask). */
const mkdirMode = (path: string, mode: number) => {
  mkdirSync(path, { recursive: true });
  chmodSync(path, mode);
};
const GOOD_LEASE = 'vm = "a"\nip = "192.168.100.10"\n';

const CASES: FailingCase[] = [
  // ---- the config file is not a readable UTF-8 regular file ----
  {
    name: 'config is a FIFO',
    setup: (c) => mkfifo(fresh(c.configPath)),
    args: ['lease', 'list'],
    code: 3,
    lines: 1,
    mentions: (c) => [c.configPath, 'FIFO'],
  },
  { name: 'config is a directory', setup: (c) => mkdirSync(fresh(c.configPath)), args: ['plan'], code: 3, lines: 1, mentions: (c) => [c.configPath, 'directory'] },
  { name: 'config is a socket', setup: (c) => mksocket(fresh(c.configPath)), args: ['status'], code: 3, lines: 1, mentions: (c) => [c.configPath, 'socket'] },
  { name: 'config is /dev/zero', setup: (c) => symlinkSync('/dev/zero', fresh(c.configPath)), args: ['plan'], code: 3, lines: 1, mentions: () => ['character device'] },
  { name: 'config is a symlink loop', setup: (c) => symlinkSync(c.configPath, fresh(c.configPath)), args: ['plan'], code: 3, lines: 1, mentions: () => ['(ELOOP)'] },
  {
    name: 'config is not UTF-8',
    setup: (c) => writeFileSync(c.configPath, Buffer.from('[[network]]\nname = "caf\xe9"\n', 'latin1')),
    args: ['plan'],
    code: 3,
    lines: 1,
    mentions: (c) => [c.configPath, 'invalid byte 0xe9 at offset 23 (line 2)'],
  },
  { name: 'config larger than 16 MiB', setup: (c) => truncateSync(c.configPath, 17 * 1024 * 1024), args: ['plan'], code: 3, lines: 1, mentions: () => ['16 MiB'] },
  {
    name: 'config unreadable',
    setup: (c) => chmodSync(c.configPath, 0o600),
    args: ['lease', 'list'],
    run: { uid: NOBODY },
    code: 3,
    lines: 1,
    mentions: (c) => [`${c.configPath}: cannot open: permission denied (EACCES)`],
  },
  { name: 'config below a file', args: (c) => ['--config', join(c.configPath, 'x.toml'), 'plan'], code: 3, lines: 1, mentions: (c) => [`${c.configPath}: expected a directory`] },

  // ---- leases.d ----
  { name: 'leases.d entry is a FIFO', setup: (c) => mkfifo(leasesFile(c, 'a.toml')), args: ['lease', 'list'], code: 3, lines: 1, mentions: (c) => [join(c.leasesDir, 'a.toml'), 'FIFO'] },
  { name: 'leases.d entry is a directory', setup: (c) => mkdirSync(leasesFile(c, 'a.toml')), args: ['plan'], code: 3, lines: 1, mentions: () => ['a.toml: expected a regular file, found a directory'] },
  { name: 'leases.d entry is a socket', setup: (c) => mksocket(leasesFile(c, 'a.toml')), args: ['lease', 'list'], code: 3, lines: 1, mentions: () => ['socket'] },
  { name: 'leases.d entry is /dev/null', setup: (c) => symlinkSync('/dev/null', leasesFile(c, 'a.toml')), args: ['lease', 'list'], code: 3, lines: 1, mentions: () => ['character device'] },
  {
    name: 'leases.d entry is not UTF-8',
    setup: (c) => writeFileSync(leasesFile(c, 'a.toml'), Buffer.from('vm = "\xff"\nip = "192.168.100.10"\n', 'latin1')),
    args: ['lease', 'list'],
    code: 3,
    lines: 1,
    mentions: () => ['invalid byte 0xff at offset 6 (line 1)'],
  },
  {
    name: 'leases.d entry unreadable',
    setup: (c) => {
      writeFileSync(leasesFile(c, 'a.toml'), GOOD_LEASE);
      chmodSync(join(c.leasesDir, 'a.toml'), 0o600);
    },
    args: ['lease', 'list'],
    run: { uid: NOBODY },
    code: 3,
    lines: 1,
    mentions: () => ['a.toml: cannot open: permission denied (EACCES)'],
  },
  {
    name: 'three bad leases.d entries: three lines',
    setup: async (c) => {
      await mkfifo(leasesFile(c, 'a.toml'));
      mkdirSync(leasesFile(c, 'b.toml'));
      writeFileSync(leasesFile(c, 'c.toml'), 'vm = "c"\nip = "192.168.100.300"\n');
    },
    args: ['plan'],
    code: 3,
    lines: 3,
  },
  { name: 'leases.d is a file', setup: (c) => writeFileSync(c.leasesDir, ''), args: ['lease', 'list'], code: 3, lines: 1, mentions: (c) => [`${c.leasesDir}: expected a directory`] },
  {
    name: 'leases.d cannot be listed',
    setup: (c) => mkdirSync(c.leasesDir, { mode: 0o700 }),
    args: ['lease', 'list'],
    run: { uid: NOBODY },
    code: 3,
    lines: 1,
    mentions: (c) => [`${c.leasesDir}: cannot list directory: permission denied (EACCES)`],
  },
  { name: 'lease add where the file to replace is a FIFO', setup: (c) => mkfifo(leasesFile(c, 'a.toml')), args: ['lease', 'add', 'a', '192.168.100.10'], code: 3, mentions: () => ['FIFO'] },
  { name: 'lease rm where the only file is a FIFO', setup: (c) => mkfifo(leasesFile(c, 'a.toml')), args: ['lease', 'rm', 'a'], mentions: () => ['a'] },

  // ---- state directories ----
  {
    name: 'state directory not writable',
    setup: (c) => mkdirSync(c.stateDir, { mode: 0o755 }),
    args: ['lease', 'add', 'a', '192.168.100.10'],
    run: { uid: NOBODY },
    lines: 1,
    mentions: () => ['permission denied (EACCES)'],
  },
  { name: 'state directory is a file', setup: (c) => writeFileSync(c.stateDir, ''), args: ['lease', 'add', 'a', '192.168.100.10'], lines: 1, mentions: (c) => [c.stateDir] },

  // ---- directories another user could write ----
  { name: 'leases.d world-writable', setup: (c) => mkdirMode(c.leasesDir, 0o777), args: ['lease', 'list'], code: 3, lines: 1, mentions: (c) => [c.leasesDir, 'chmod go-w'] },
  { name: 'config directory owned by nobody', setup: (c) => chownSync(join(c.dir, 'etc'), NOBODY, NOBODY), args: ['plan'], code: 3, lines: 1, mentions: (c) => [join(c.dir, 'etc'), `chown root ${join(c.dir, 'etc')}`] },
  {
    name: 'run and lib directories group-writable and foreign: a line each',
    setup: (c) => {
      mkdirMode(c.runDir, 0o775);
      mkdirSync(c.libDir, { recursive: true });
      chownSync(c.libDir, NOBODY, NOBODY);
    },
    args: ['status'],
    code: 3,
    lines: 2,
    mentions: (c) => [c.runDir, c.libDir],
  },
  { name: 'down with a run directory owned by nobody', setup: (c) => { mkdirSync(c.runDir, { recursive: true }); chownSync(c.runDir, NOBODY, NOBODY); }, args: ['down'], code: 3, lines: 1, mentions: (c) => [c.runDir, 'chown root'] },
  { name: 'log directory world-writable', setup: (c) => mkdirMode(c.logDir, 0o777), args: ['lease', 'add', 'a', '192.168.100.10'], code: 3, lines: 1, mentions: (c) => [c.logDir] },

  // ---- bad values ----
  { name: 'lease add: broadcast MAC', args: ['lease', 'add', 'a', '192.168.100.10', '--mac', 'ff:ff:ff:ff:ff:ff'], code: 3, lines: 1, mentions: () => ['broadcast'] },
  { name: 'lease add: multicast MAC', args: ['lease', 'add', 'a', '192.168.100.10', '--mac', '01:00:5e:00:00:01'], code: 3, lines: 1, mentions: () => ['multicast'] },
  { name: 'lease add: all-zero MAC', args: ['lease', 'add', 'a', '192.168.100.10', '--mac', '00:00:00:00:00:00'], code: 3, lines: 1, mentions: () => ['all zeros'] },
  { name: 'lease add: two problems, two lines', args: ['lease', 'add', 'a', '192.168.100.300', '--mac', 'nope'], code: 3, lines: 2 },
  { name: 'lease add: VM name with a newline', args: ['lease', 'add', 'a\nb', '192.168.100.10'], code: 3, lines: 1, mentions: () => ['control characters'] },
  { name: 'lease add: VM name of 2000 bytes', args: ['lease', 'add', 'é'.repeat(1000), '192.168.100.10'], code: 3, lines: 1, mentions: () => ['1024 bytes'] },
  { name: 'lease rm: no such lease', args: ['lease', 'rm', 'nothere'], lines: 1, mentions: () => ['nothere'] },
  { name: 'lease_time "0"', setup: (c) => writeFileSync(c.configPath, '[[network]]\nlease_time = "0"\n'), args: ['plan'], code: 3, lines: 1, mentions: () => ['lease_time = "0"'] },
  {
    name: 'derived host names collide',
    setup: (c) => writeFileSync(c.configPath, leaseToml({ vm: 'web_1', ip: '192.168.100.10' }) + leaseToml({ vm: 'web-1', ip: '192.168.100.11' })),
    args: ['lease', 'list'],
    code: 3,
    lines: 1,
    mentions: () => ['"web_1"', '"web-1"'],
  },
  { name: 'TOML syntax error', setup: (c) => writeFileSync(c.configPath, 'network = [\n'), args: ['plan'], code: 3, lines: 1, mentions: () => ['expected valid TOML'] },
  // ---- not root: commands that change the host say so before anything else ----
  { name: 'up as nobody', args: ['up'], run: { uid: NOBODY }, code: 1, lines: 1, mentions: () => ['up changes the host', 'needs root'] },
  { name: 'plan as nobody', args: ['plan'], run: { uid: NOBODY }, code: 1, lines: 1, mentions: () => ['plan reads the host', 'needs root'] },
  { name: 'down as nobody', args: ['down'], run: { uid: NOBODY }, code: 1, lines: 1, mentions: () => ['down changes the host', 'needs root'] },
  {
    name: 'lease add as nobody while a network is applied',
    setup: (c) => {
      mkdirSync(join(c.runDir, 'applied'), { recursive: true, mode: 0o755 });
      writeFileSync(join(c.runDir, 'applied', 'natnet.json'), '{}');
    },
    args: ['lease', 'add', 'a', '192.168.100.10'],
    run: { uid: NOBODY },
    code: 1,
    lines: 1,
    mentions: () => ['lease add changes the host', 'needs root'],
  },
  // usage errors are one line too, not commander's help page
  { name: 'unknown command', args: ['bogus'], code: 2, lines: 1, mentions: () => ["unknown command 'bogus'", '--help'] },
  { name: 'unknown option', args: ['up', '--bogus'], code: 2, lines: 1, mentions: () => ["unknown option '--bogus'"] },
  { name: 'missing argument', args: ['lease', 'add'], code: 2, lines: 1, mentions: () => ["missing required argument 'vm'"] },
];

const req = needs({ root: true, bins: [...LAB_BINS, 'mkfifo', 'setpriv'] });

describe.skipIf(!req.ok)(`no stack trace reaches a user: every failure is one line per problem${req.reason}`, () => {
  const lab = useLab();

  it('the table has cases', () => expect(CASES.length).toBeGreaterThan(30));

  it('a reader that closes stdout early (lease list | head) ends the run quietly', async () => {
    const c = caseDir(lab());
    mkdirSync(c.leasesDir);
    for (let i = 0; i < 3000; i++) writeFileSync(join(c.leasesDir, `vm${i}.toml`), `vm = "vm${i}"\nip = "10.64.${1 + Math.floor(i / 250)}.${1 + (i % 250)}"\n`);
    writeFileSync(c.configPath, '[[network]]\naddress = "10.64.0.1/16"\ndhcp_range = "10.64.200.10-10.64.200.250"\n');
    const argv = inNs(lab().router, [process.execPath, BIN, '--config', c.configPath, '--state-dir', c.stateDir, 'lease', 'list']);
    const { child, exited } = await spawnBackground(argv, { pipes: true, input: '' });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b;
    });
    child.stdout?.once('data', () => child.stdout?.destroy());
    const code = await exited;
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  for (const k of CASES) {
    it(k.name, async () => {
      const c = caseDir(lab());
      await k.setup?.(c);
      const args = typeof k.args === 'function' ? k.args(c) : k.args;
      const r = await runCli(lab(), c, args, k.run);
      const lines = expectOneLineFailure(r, { lines: k.lines, code: k.code });
      for (const m of k.mentions?.(c) ?? []) expect(lines.join('\n'), r.all).toContain(m);
    });
  }
});
