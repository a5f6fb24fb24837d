import { chmodSync, copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { assertBuilt } from '../helpers/lab-config.js';
import { exec, REPO } from '../helpers/netns.js';
import { OVERLAY_ROOT, SCRUBBED_ENV, STEP } from '../helpers/overlay-root.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: ['unshare', 'mount', 'env'] });

/** What on this machine a root-/ install would touch: it must look the same afterwards. */
function hostView(): Record<string, string[] | boolean> {
  const list = (d: string) => (existsSync(d) ? readdirSync(d, { recursive: true }).map(String).sort() : []);
  return {
    hooks: list('/etc/libvirt/hooks'),
    runtime: existsSync('/usr/lib/natnet-hook'),
    sbin: existsSync('/usr/sbin/natnet-hook'),
    config: list('/etc/natnet-hook'),
    manifest: existsSync('/var/lib/natnet-hook/install.json'),
    unit: existsSync('/etc/systemd/system/natnet-hook-listen.service'),
  };
}

const SCRUBBED = SCRUBBED_ENV;

/**
 * Runs inside `unshare --mount --propagation private`: overlays (upper dirs on a private tmpfs)
 * over /etc, /usr and /var and a tmpfs over /run, so `install` with root / changes nothing on the
 * machine. Installs from a copy of the checkout with a node that is not /usr/bin/node (as from
 * nvm), deletes that copy, then runs what is installed. Everything that could touch a network
 * runs in a fresh network namespace (unshare --net). Results go to files in $OUT.
 */
const SCRIPT = `set -u
T=$1 CHECKOUT=$2 NODE=$3 OUT=$T/out
${OVERLAY_ROOT}
${STEP}
step install unshare --net "$NODE" "$CHECKOUT/bin/natnet-hook" install
rm -rf "$CHECKOUT"
[ -e "$CHECKOUT" ] && exit 92
STDIN=$T/not-ours.xml step qemu-not-ours ${SCRUBBED.join(' ')} /etc/libvirt/hooks/qemu.d/natnet-hook other-vm prepare begin -
STDIN=$T/ours.xml step qemu-ours unshare --net ${SCRUBBED.join(' ')} /etc/libvirt/hooks/qemu.d/natnet-hook lv-vm1 release end -
STDIN=$T/net-not-ours.xml step network-not-ours ${SCRUBBED.join(' ')} /etc/libvirt/hooks/network.d/natnet-hook default start begin -
STDIN=$T/net-ours.xml step network-ours unshare --net ${SCRUBBED.join(' ')} /etc/libvirt/hooks/network.d/natnet-hook natnet started begin -
step version ${SCRUBBED.join(' ')} /usr/sbin/natnet-hook --version
step status unshare --net ${SCRUBBED.join(' ')} /usr/sbin/natnet-hook status
head -1 /etc/libvirt/hooks/qemu.d/natnet-hook >"$OUT/shebang"
head -1 /usr/lib/natnet-hook/current/bin/natnet-hook >"$OUT/bin-shebang"
grep '^ExecStart=' /etc/systemd/system/natnet-hook-listen.service >"$OUT/execstart"
cp /var/log/natnet-hook/hooks.log "$OUT/hooks.log"
mv /usr/lib/natnet-hook /usr/lib/natnet-hook.away
STDIN=$T/not-ours.xml step broken-not-ours ${SCRUBBED.join(' ')} /etc/libvirt/hooks/qemu.d/natnet-hook other-vm prepare begin -
STDIN=$T/ours.xml step broken-ours unshare --net ${SCRUBBED.join(' ')} /etc/libvirt/hooks/qemu.d/natnet-hook lv-vm1 prepare begin -
mv /usr/lib/natnet-hook.away /usr/lib/natnet-hook
step uninstall unshare --net ${SCRUBBED.join(' ')} /usr/sbin/natnet-hook uninstall
ls -A /usr/lib/natnet-hook /usr/sbin/natnet-hook /etc/libvirt/hooks/qemu.d/natnet-hook >"$OUT/after-uninstall" 2>&1
exit 0
`;

describe.skipIf(!req.ok)(`install with root / (private mount namespace, overlays), then the checkout deleted${req.reason}`, () => {
  let t: string;
  let before: ReturnType<typeof hostView>;
  const read = (name: string) => readFileSync(join(t, 'out', name), 'utf8');
  const step = (name: string) => ({ rc: Number(read(`${name}.rc`)), out: read(`${name}.out`), err: read(`${name}.err`) });

  beforeAll(async () => {
    assertBuilt();
    before = hostView();
    t = mkdtempSync(join(tmpdir(), 'nn-selfcontained-'));
    chmodSync(t, 0o755);
    for (const d of ['ovl', 'out', 'nvm']) mkdirSync(join(t, d));
    // a checkout: the built tree, node_modules linked in (the install must not need it)
    const checkout = join(t, 'checkout');
    mkdirSync(join(checkout, 'dist'), { recursive: true });
    for (const e of ['package.json', 'bin', 'hooks', 'install']) cpSync(join(REPO, e), join(checkout, e), { recursive: true });
    cpSync(join(REPO, 'dist/fast'), join(checkout, 'dist/fast'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(checkout, 'node_modules'));
    // a node outside /usr/bin, as from nvm: install must still name /usr/bin/node (>= 20 here)
    const node = join(t, 'nvm/node');
    try {
      linkSync(process.execPath, node);
    } catch {
      copyFileSync(process.execPath, node);
      chmodSync(node, 0o755);
    }
    const fixture = readFileSync(join(REPO, 'test/fixtures/libvirt/qemu-bridge-prepare.xml'), 'utf8');
    writeFileSync(join(t, 'ours.xml'), fixture);
    writeFileSync(join(t, 'not-ours.xml'), fixture.replaceAll('virbr10', 'br-not-ours'));
    writeFileSync(join(t, 'net-ours.xml'), "<hookData><network><name>natnet</name><bridge name='virbr10'/></network></hookData>\n");
    writeFileSync(join(t, 'net-not-ours.xml'), "<hookData><network><name>default</name><bridge name='virbr0'/></network></hookData>\n");
    writeFileSync(join(t, 'script.sh'), SCRIPT);
    const r = await exec(['unshare', '--mount', '--propagation', 'private', '--', 'bash', join(t, 'script.sh'), t, checkout, node]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 180_000);

  afterAll(() => {
    if (t && !process.env.NN_KEEP) rmSync(t, { recursive: true, force: true });
  });

  it('install copied the runtime and named /usr/bin/node, not the node it ran with', () => {
    const s = step('install');
    expect(s.rc, s.out + s.err).toBe(0);
    expect(s.out).toMatch(/^node: \/usr\/bin\/node \(v\d+/m);
    expect(s.out).toContain(`installed /usr/lib/natnet-hook/${VERSION} (from ${join(t, 'checkout')})`);
    expect(s.out).toContain(`switched /usr/lib/natnet-hook/current -> ${VERSION}`);
    expect(read('shebang').trim()).toBe('#!/usr/bin/node');
    expect(read('bin-shebang').trim()).toBe('#!/usr/bin/node');
    expect(read('execstart').trim()).toBe('ExecStart=/usr/bin/node /usr/lib/natnet-hook/current/bin/natnet-hook listen');
  });

  it('with the checkout gone, both hooks decide (not ours: exit 0; ours: the engine runs, no failing open)', () => {
    for (const name of ['qemu-not-ours', 'qemu-ours', 'network-not-ours', 'network-ours']) {
      const s = step(name);
      expect([s.rc, s.out, s.err], name).toEqual([0, '', '']);
    }
    const log = read('hooks.log')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.find((r) => r.vm === 'other-vm')).toMatchObject({ action: 'ignored (not on our bridges)', exit: 0 });
    const ours = log.find((r) => r.vm === 'lv-vm1');
    expect(ours).toMatchObject({ networks: ['natnet'], result: 'ok', exit: 0 });
    expect(log.filter((r) => String(r.action).startsWith('failed open'))).toEqual([]);
  });

  it('with the runtime itself gone, the shims fail open on the bridges baked at install: not ours exit 0, ours refused with one line', () => {
    expect(step('broken-not-ours')).toEqual({ rc: 0, out: '', err: '' });
    const ours = step('broken-ours');
    expect(ours.rc).toBe(1);
    expect(ours.err).toMatch(/^natnet-hook: qemu "lv-vm1" names bridge virbr10, but natnet-hook is broken \(cannot load \/usr\/lib\/natnet-hook\/current\/dist\/fast\/hook\/main\.js: .*\); reinstall it or fix the cause\n$/);
  });

  it('/usr/sbin/natnet-hook runs: --version, status', () => {
    expect(step('version')).toEqual({ rc: 0, out: `${VERSION}\n`, err: '' });
    const s = step('status');
    expect(s.out + s.err).toContain('network natnet');
    expect(s.out + s.err).not.toMatch(/Cannot find module|at .*\.c?js:\d+/);
  });

  it('uninstall (run from the runtime it removes) takes the runtime, the link and the hooks away', () => {
    const s = step('uninstall');
    expect(s.rc, s.out + s.err).toBe(0);
    expect(s.out).toContain(`removed /usr/lib/natnet-hook/${VERSION}/`);
    expect(read('after-uninstall').match(/No such file or directory/g)).toHaveLength(3);
  });

  it('the machine itself is untouched', () => {
    expect(hostView()).toEqual(before);
  });
});
