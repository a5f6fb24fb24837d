/**
 * Issue 7, items 8 (part) and 9, against the built CLI: files in the config and leases.d that are
 * not readable UTF-8 regular files are config errors naming the file (never a block, never a
 * stack trace, never silent U+FFFD); directories another user could write are refused; logs are
 * never appended through a planted symlink and are 0640.
 */
import { closeSync, chmodSync, chownSync, constants as fsc, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineLogFile, hooksLogFile } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS } from '../helpers/lab-config.js';
import { Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';
import { type CaseDir, caseDir, expectOneLineFailure, mkfifo, NOBODY, runCli } from './cli-cases.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'mkfifo', 'setpriv'] });
const fixture = (name: string) => readFileSync(join(REPO, 'test', 'fixtures', 'libvirt', `${name}.xml`), 'utf8');
/** A VM on our bridge (virbr10), and one on a bridge that is not ours. */
const OURS = fixture('qemu-bridge-prepare');
const NOT_OURS = OURS.replace("<source bridge='virbr10'/>", "<source bridge='br-other'/>").replaceAll('lv-vm1', 'other-vm');
const modeOf = (path: string) => statSync(path).mode & 0o777;

/** The files below a directory with their content (null for non-regular files), to prove nothing was written. */
function tree(dir: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else out[p] = st.isFile() ? readFileSync(p, 'utf8') : null;
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(!req.ok)(`files in the config and leases.d, directory trust, logs${req.reason}`, () => {
  let lab: Lab;
  let pristine: Awaited<ReturnType<Lab['snapshot']>>;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    pristine = await lab.snapshot();
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  /** Runs args and checks: exit 3, one line naming `names`, nothing applied or written. */
  async function refused(c: CaseDir, args: string[], names: string[], lines = 1) {
    const before = tree(c.dir);
    const r = await runCli(lab, c, args, { timeout: 10 });
    const out = expectOneLineFailure(r, { code: 3, lines });
    for (const n of names) expect(out.join('\n'), r.all).toContain(n);
    expect(tree(c.dir), `${args.join(' ')} wrote something`).toEqual(before);
    expect(await lab.snapshot()).toEqual(pristine);
  }

  describe('a FIFO never blocks', () => {
    const commands = [['up'], ['plan'], ['status'], ['lease', 'list'], ['lease', 'add', 'vm9', '192.168.100.19']];

    for (const args of commands) {
      it(`as the config: ${args.join(' ')} exits 3 at once, naming it`, async () => {
        const c = caseDir(lab);
        rmSync(c.configPath);
        await mkfifo(c.configPath);
        await refused(c, args, [`${c.configPath}: expected a regular file, found a FIFO (named pipe)`]);
      });
    }

    it('in leases.d, also while a writer holds it open: up exits 3 naming it, nothing applied', async () => {
      const c = caseDir(lab);
      mkdirSync(c.leasesDir);
      const fifo = join(c.leasesDir, 'vm1.toml');
      await mkfifo(fifo);
      await refused(c, ['up'], [fifo, 'FIFO']);
      const writer = openSync(fifo, fsc.O_RDWR | fsc.O_NONBLOCK); // a reader and writer: reads would wait for data
      try {
        await refused(c, ['up'], [fifo, 'FIFO']);
        await refused(c, ['lease', 'add', 'vm1', '192.168.100.11'], [fifo, 'FIFO']);
      } finally {
        closeSync(writer);
      }
    });

    it('a hook for a VM that is not ours, with a FIFO as the config, exits 0 at once', async () => {
      const c = caseDir(lab);
      rmSync(c.configPath);
      await mkfifo(c.configPath);
      const r = await runCli(lab, c, ['hook', 'qemu', 'other-vm', 'prepare', 'begin', '-'], { input: NOT_OURS, timeout: 10 });
      expect(r.code, `exit ${r.code} (124: blocked on the FIFO) ${r.all}`).toBe(0);
      expect(r.stderr).toBe('');
    });
  });

  describe('other files that are not UTF-8 regular files', () => {
    it('a directory, socket-like or device entry in leases.d: one line each, all reported together', async () => {
      const c = caseDir(lab);
      mkdirSync(join(c.leasesDir, 'dir.toml'), { recursive: true });
      symlinkSync('/dev/null', join(c.leasesDir, 'null.toml'));
      writeFileSync(join(c.leasesDir, 'ok.toml'), 'vm = "ok"\nip = "192.168.100.10"\n');
      await refused(c, ['up'], ['dir.toml: expected a regular file, found a directory', 'null.toml: expected a regular file, found a character device'], 2);
    });

    it('bytes that are not UTF-8 are named with their offset and never reach dnsmasq as U+FFFD', async () => {
      const c = caseDir(lab);
      mkdirSync(c.leasesDir);
      writeFileSync(join(c.leasesDir, 'vm1.toml'), Buffer.concat([Buffer.from('vm = "vm'), Buffer.from([0xc3, 0x28]), Buffer.from('"\nip = "192.168.100.10"\n')]));
      await refused(c, ['up'], ['vm1.toml: expected UTF-8 text, invalid byte 0xc3 at offset 8 (line 1)']);
      writeFileSync(c.configPath, Buffer.from('[[network]]\ndomain = "\xe9"\n', 'latin1'));
      await refused(c, ['lease', 'list'], [`${c.configPath}: expected UTF-8 text, invalid byte 0xe9 at offset 22 (line 2)`]);
    });

    it('lease add repairs its own file holding bytes that are not UTF-8 (a FIFO there is refused above)', async () => {
      const c = caseDir(lab);
      mkdirSync(c.leasesDir);
      writeFileSync(join(c.leasesDir, 'vm1.toml'), Buffer.from([0xff, 0xfe, 0x00]));
      expectOneLineFailure(await runCli(lab, c, ['lease', 'list']), { code: 3, lines: 1 });
      const r = await runCli(lab, c, ['lease', 'add', 'vm1', '192.168.100.10']);
      expect(r.code, r.all).toBe(0);
      expect(readFileSync(join(c.leasesDir, 'vm1.toml'), 'utf8')).toContain('192.168.100.10');
    });

    it('an unreadable file names the path, what failed and the code', async () => {
      const c = caseDir(lab);
      chmodSync(c.configPath, 0o600);
      const r = await runCli(lab, c, ['lease', 'list'], { uid: NOBODY, timeout: 10 });
      expect(expectOneLineFailure(r, { code: 3, lines: 1 })).toEqual([`natnet-hook: ${c.configPath}: cannot open: permission denied (EACCES)`]);
    });
  });

  describe('directories another user could write are refused', () => {
    it('a state directory owned by nobody: up refuses, naming it and the fix; nothing applied', async () => {
      const c = caseDir(lab);
      mkdirSync(c.runDir, { recursive: true });
      chownSync(c.runDir, NOBODY, NOBODY);
      await refused(c, ['up'], [`${c.runDir}: owned by uid ${NOBODY}`, `chown root ${c.runDir}`]);
    });

    it('group- or world-writable config directory or leases.d: refused; NATNET_HOOK_ALLOW_UNSAFE_DIRS=1 lets it through', async () => {
      const c = caseDir(lab);
      mkdirSync(c.leasesDir);
      chmodSync(c.leasesDir, 0o777);
      chmodSync(join(c.dir, 'etc'), 0o775);
      await refused(c, ['up'], [`${join(c.dir, 'etc')}: writable by group`, `${c.leasesDir}: writable by group and others`, 'chmod go-w'], 2);
      const r = await runCli(lab, c, ['lease', 'list'], { env: { NATNET_HOOK_ALLOW_UNSAFE_DIRS: '1' } });
      expect(r.code, r.all).toBe(0);
    });

    it('root-owned 0755 directories, as the CLI creates them, are accepted', async () => {
      const c = caseDir(lab);
      const r = await runCli(lab, c, ['lease', 'add', 'vm1', '192.168.100.10']);
      expect(r.code, r.all).toBe(0);
      for (const d of [c.leasesDir, c.runDir]) expect(modeOf(d), d).toBe(0o755);
      expect((await runCli(lab, c, ['lease', 'list'])).code).toBe(0);
    });
  });

  describe('logs: never through a symlink, 0640', () => {
    it('hooks.log: a planted symlink is not followed, and the hook still exits 0', async () => {
      const c = caseDir(lab);
      const precious = join(c.dir, 'precious');
      writeFileSync(precious, 'do not append here\n');
      mkdirSync(c.logDir, { recursive: true });
      symlinkSync(precious, hooksLogFile(c));
      const r = await runCli(lab, c, ['hook', 'qemu', 'other-vm', 'prepare', 'begin', '-'], { input: NOT_OURS });
      expect(r.code, r.all).toBe(0);
      expect(readFileSync(precious, 'utf8')).toBe('do not append here\n');
      expect(lstatSync(hooksLogFile(c)).isSymbolicLink()).toBe(true);
    });

    it('hooks.log is created 0640 in a 0750 log dir; an old 0644 log becomes 0640', async () => {
      const c = caseDir(lab);
      const hook = () => runCli(lab, c, ['hook', 'qemu', 'other-vm', 'prepare', 'begin', '-'], { input: NOT_OURS });
      expect((await hook()).code).toBe(0);
      expect(modeOf(c.logDir)).toBe(0o750);
      expect(modeOf(hooksLogFile(c))).toBe(0o640);
      expect(modeOf(c.stateDir)).toBe(0o755); // the state dir above stays traversable (dnsmasq runs as nobody)
      chmodSync(hooksLogFile(c), 0o644);
      expect((await hook()).code).toBe(0);
      expect(modeOf(hooksLogFile(c))).toBe(0o640);
      expect(readFileSync(hooksLogFile(c), 'utf8').trim().split('\n')).toHaveLength(2);
    });

    it('engine.log: a planted symlink is not followed and our VM still starts; without it engine.log is 0640', async () => {
      const c = caseDir(lab);
      const precious = join(c.dir, 'precious');
      writeFileSync(precious, 'do not append here\n');
      mkdirSync(c.stateDir, { mode: 0o755 });
      mkdirSync(c.logDir, { mode: 0o750 });
      symlinkSync(precious, engineLogFile(c));
      try {
        const first = await runCli(lab, c, ['hook', 'qemu', 'lv-vm1', 'prepare', 'begin', '-'], { input: OURS, timeout: 60 });
        expect(first.code, first.all).toBe(0);
        expect(readFileSync(precious, 'utf8')).toBe('do not append here\n');
        expect(lstatSync(engineLogFile(c)).isSymbolicLink()).toBe(true);

        rmSync(engineLogFile(c));
        const second = OURS.replaceAll('lv-vm1', 'lv-vm2').replace('52:54:00:aa:bb:01', '52:54:00:aa:bb:02').replace(/<uuid>[^<]*<\/uuid>/, '');
        const r = await runCli(lab, c, ['hook', 'qemu', 'lv-vm2', 'prepare', 'begin', '-'], { input: second, timeout: 60 });
        expect(r.code, r.all).toBe(0);
        expect(lstatSync(engineLogFile(c)).isFile()).toBe(true);
        expect(modeOf(engineLogFile(c))).toBe(0o640);
      } finally {
        await runCli(lab, c, ['down'], { timeout: 60 });
      }
      expect(await lab.snapshot()).toEqual(pristine);
    });
  });
});
