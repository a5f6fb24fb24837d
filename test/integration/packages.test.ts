import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { assertBuilt, LAB_BINS } from '../helpers/lab-config.js';
import { exec, REPO } from '../helpers/netns.js';
import { OVERLAY_ROOT, SCRUBBED_ENV, STEP } from '../helpers/overlay-root.js';
import { needs } from '../helpers/requirements.js';

// npm pack --ignore-scripts: the tests run on a built tree, and prepack's rebuild would replace
// dist/fast under the other test files running in parallel (package.json's prepack is checked in
// test/unit/install.test.ts)
const npmReq = needs({ bins: ['npm'] });

describe.skipIf(!npmReq.ok)(`npm package${npmReq.reason}`, () => {
  let t: string;
  let tgz: string;
  let prefix: string;
  beforeAll(async () => {
    assertBuilt();
    t = mkdtempSync(join(tmpdir(), 'nn-npm-'));
    chmodSync(t, 0o755);
    const pack = await exec(['env', '-C', REPO, 'npm', 'pack', '--ignore-scripts', '--silent', '--pack-destination', t]);
    expect(pack.code, pack.stderr).toBe(0);
    tgz = join(t, pack.stdout.trim().split('\n').pop() ?? '');
    prefix = join(t, 'prefix');
    // offline: dist/fast bundles every runtime dependency, the tarball needs nothing from a registry
    const inst = await exec(['env', '-C', t, 'npm', 'install', '-g', tgz, '--prefix', prefix, '--offline', '--no-audit', '--no-fund']);
    expect(inst.code, inst.stdout + inst.stderr).toBe(0);
  }, 120_000);
  afterAll(() => {
    if (t) rmSync(t, { recursive: true, force: true });
  });

  it('the tarball holds the built runtime and nothing of the source tree', async () => {
    expect(tgz).toMatch(new RegExp(`natnet-hook-${VERSION.replaceAll('.', '\\.')}\\.tgz$`));
    const list = (await exec(['tar', 'tzf', tgz])).stdout.split('\n').filter(Boolean);
    for (const f of ['bin/natnet-hook', 'dist/fast/cli.cjs', 'dist/fast/program.cjs', 'dist/fast/dbus-next.cjs', 'dist/fast/hook/prefilter.cjs', 'dist/fast/hook/main.js', 'hooks/qemu', 'hooks/network', 'install/config.toml', 'install/systemd/natnet-hook-listen.service']) {
      expect(list, f).toContain(`package/${f}`);
    }
    expect(list.filter((f) => /^package\/(src|test|bench|scripts|node_modules)\//.test(f) || f.endsWith('.ts') || f === 'package/hooks/shim.template')).toEqual([]);
  });

  it('installed globally into a prefix: natnet-hook --version, --help', async () => {
    const bin = join(prefix, 'bin/natnet-hook');
    expect(await exec([bin, '--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const help = await exec([bin, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('selftest');
  });

  const selftestReq = needs({ root: true, bins: LAB_BINS });
  it.skipIf(!selftestReq.ok)(`installed globally: selftest passes (its own throw-away namespaces)${selftestReq.reason}`, async () => {
    const r = await exec([join(prefix, 'bin/natnet-hook'), 'selftest']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\d+\/\d+ checks passed/);
  });
});

const debReq = needs({ bins: ['dpkg-deb', 'lintian', 'gzip'] });

describe.skipIf(!debReq.ok)(`Debian package${debReq.reason}`, () => {
  let t: string;
  let deb: string;
  beforeAll(async () => {
    assertBuilt();
    t = mkdtempSync(join(tmpdir(), 'nn-deb-'));
    chmodSync(t, 0o755);
    const r = await exec([join(REPO, 'scripts/build-deb.sh'), '--no-build', t]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    deb = r.stdout.trim().split('\n').pop() ?? '';
  }, 120_000);
  afterAll(() => {
    if (t) rmSync(t, { recursive: true, force: true });
  });

  it(`is natnet-hook_${VERSION}_all.deb with the runtime, current, /usr/sbin link, unit, docs and the Depends line`, async () => {
    expect(deb).toBe(join(t, `natnet-hook_${VERSION}_all.deb`));
    const contents = (await exec(['dpkg-deb', '-c', deb])).stdout.split('\n').filter(Boolean);
    const entry = (p: string) => contents.find((l) => l.split(/\s+/)[5] === `./${p}` || l.split(/\s+/)[5] === `./${p}/`);
    for (const p of [
      `usr/lib/natnet-hook/${VERSION}/bin/natnet-hook`,
      `usr/lib/natnet-hook/${VERSION}/dist/fast/cli.cjs`,
      `usr/lib/natnet-hook/${VERSION}/hooks/qemu`,
      'usr/lib/systemd/system/natnet-hook-listen.service',
      'usr/share/doc/natnet-hook/copyright',
      'usr/share/doc/natnet-hook/changelog.gz',
    ]) {
      expect(entry(p), p).toBeDefined();
      expect(entry(p)?.split(/\s+/)[1], p).toBe('root/root');
    }
    expect(entry('usr/lib/natnet-hook/current')?.endsWith(`-> ${VERSION}`)).toBe(true);
    expect(entry('usr/sbin/natnet-hook')).toMatch(/-> \.\.\/lib\/natnet-hook\/current\/bin\/natnet-hook$/);
    // man page and completions when the build made them (npm run build's docs step)
    for (const [built, shipped] of [
      ['dist/share/man/man8/natnet-hook.8', 'usr/share/man/man8/natnet-hook.8.gz'],
      ['dist/share/bash-completion/completions/natnet-hook', 'usr/share/bash-completion/completions/natnet-hook'],
      ['dist/share/zsh/vendor-completions/_natnet-hook', 'usr/share/zsh/vendor-completions/_natnet-hook'],
    ]) {
      let made = true;
      try {
        readFileSync(join(REPO, built));
      } catch {
        made = false;
      }
      expect(entry(shipped) !== undefined, shipped).toBe(made);
    }
    const control = (await exec(['dpkg-deb', '-f', deb])).stdout;
    expect(control).toMatch(/^Depends: nodejs \(>= 20\), dnsmasq-base, iproute2, iptables \| nftables$/m);
    expect(control).toMatch(/^Architecture: all$/m);
  });

  it('lintian reports no errors', async () => {
    const r = await exec(['lintian', '--no-tag-display-limit', deb]);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('E:')), r.stdout + r.stderr).toEqual([]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 120_000);

  it('extracted into a temporary root, its /usr/sbin/natnet-hook runs; the unit runs the packaged node through current', async () => {
    const root = join(t, 'root');
    expect((await exec(['dpkg-deb', '-x', deb, root])).code).toBe(0);
    expect(await exec([join(root, 'usr/sbin/natnet-hook'), '--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const unit = readFileSync(join(root, 'usr/lib/systemd/system/natnet-hook-listen.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/usr\/lib\/natnet-hook\/current\/bin\/natnet-hook listen$/m);
    expect(readFileSync(join(root, `usr/lib/natnet-hook/${VERSION}/bin/natnet-hook`), 'utf8').split('\n')[0]).toBe('#!/usr/bin/node');
  });

  it('the maintainer scripts run install on configure, uninstall on remove, and start nothing without systemd', async () => {
    const ctl = join(t, 'control');
    expect((await exec(['dpkg-deb', '-e', deb, ctl])).code).toBe(0);
    const postinst = readFileSync(join(ctl, 'postinst'), 'utf8');
    const prerm = readFileSync(join(ctl, 'prerm'), 'utf8');
    expect(postinst).toMatch(/^\s+natnet-hook install$/m);
    expect(postinst).toMatch(/if \[ -d \/run\/systemd\/system \]; then[\s\S]*deb-systemd-invoke "\$action"/);
    expect(prerm).toMatch(/remove\)[\s\S]*natnet-hook uninstall/);
    for (const s of ['postinst', 'prerm', 'postrm']) expect((await exec(['sh', '-n', join(ctl, s)])).code, s).toBe(0);
  });

  const dpkgReq = needs({ root: true, bins: ['dpkg', 'unshare', 'mount'] });
  it.skipIf(!dpkgReq.ok)(`dpkg -i, remove and purge on this machine's own root seen through overlays (nothing real changes)${dpkgReq.reason}`, async () => {
    const dir = join(t, 'dpkg');
    for (const d of ['ovl', 'out']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'not-ours.xml'), readFileSync(join(REPO, 'test/fixtures/libvirt/qemu-bridge-prepare.xml'), 'utf8').replaceAll('virbr10', 'br-not-ours'));
    writeFileSync(
      join(dir, 'script.sh'),
      `set -u
T=$1 DEB=$2 OUT=$T/out
${OVERLAY_ROOT}
${STEP}
step install dpkg -i "$DEB"
ls -A /etc/libvirt/hooks/qemu.d /etc/natnet-hook /etc/systemd/system >"$OUT/after-install" 2>&1
STDIN=$T/not-ours.xml step hook ${SCRUBBED_ENV.join(' ')} /etc/libvirt/hooks/qemu.d/natnet-hook other-vm prepare begin -
step version ${SCRUBBED_ENV.join(' ')} natnet-hook --version
step remove unshare --net dpkg -r natnet-hook
ls -A /etc/libvirt/hooks/qemu.d /usr/lib/natnet-hook /etc/natnet-hook >"$OUT/after-remove" 2>&1
step purge dpkg -P natnet-hook
ls -A /etc/natnet-hook /var/lib/natnet-hook >"$OUT/after-purge" 2>&1
exit 0
`,
    );
    const r = await exec(['unshare', '--mount', '--propagation', 'private', '--', 'bash', join(dir, 'script.sh'), dir, deb]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const read = (n: string) => readFileSync(join(dir, 'out', n), 'utf8');
    const step = (n: string) => ({ rc: Number(read(`${n}.rc`)), out: read(`${n}.out`), err: read(`${n}.err`) });
    const install = step('install');
    expect(install.rc, install.out + install.err).toBe(0);
    // the postinst's natnet-hook install: the runtime is the package's, used in place; no /etc copy of the unit
    expect(install.out).toContain(`runtime /usr/lib/natnet-hook/${VERSION}: in place (natnet-hook runs from it)`);
    expect(install.out).toContain('installed /etc/libvirt/hooks/qemu.d/natnet-hook');
    expect(install.out).not.toContain('/etc/systemd/system/natnet-hook-listen.service');
    expect(read('after-install')).toContain('natnet-hook');
    expect(read('after-install')).toContain('config.toml');
    expect(step('hook')).toEqual({ rc: 0, out: '', err: '' });
    expect(step('version')).toMatchObject({ rc: 0, out: `${VERSION}\n` });
    const remove = step('remove');
    expect(remove.rc, remove.out + remove.err).toBe(0);
    expect(remove.out + remove.err).toContain('removed /etc/libvirt/hooks/qemu.d/natnet-hook');
    // the hook and the runtime are gone, the config stays until purge
    expect(read('after-remove')).toMatch(/qemu\.d.*No such file or directory/);
    expect(read('after-remove')).toMatch(/natnet-hook.*No such file or directory/);
    expect(read('after-remove')).toContain('config.toml');
    expect(step('purge').rc).toBe(0);
    expect(read('after-purge').match(/No such file or directory/g)).toHaveLength(2);
    // the machine's own dpkg database never saw it
    expect((await exec(['dpkg-query', '-W', 'natnet-hook'])).code).not.toBe(0);
  }, 120_000);
});
