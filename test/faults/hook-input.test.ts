import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, REPO } from '../helpers/netns.js';

/**
 * Issue 7 item 6: hostile XML for a VM or network that is not ours, through the real shims
 * (hooks/qemu, hooks/network) as libvirt runs them: argv, XML on stdin, a scrubbed environment.
 * It must exit 0 and never hang (linear scanning) nor throw (character references). Timings are
 * in bench/, not asserted here: the bound below only catches a hang or a quadratic blow-up.
 */
const MB = 1024 * 1024;
const rep = (s: string, bytes: number) => s.repeat(Math.ceil(bytes / s.length));
const dom = (body: string) => `<domain type='kvm'><name>other</name><devices>${body}</devices></domain>`;
const net = (body: string) => `<hookData><network><name>other</name>${body}</network></hookData>`;
const iface = (source: string) => `<interface type='bridge'><mac address='52:54:00:00:00:01'/><source ${source}/></interface>`;

const QEMU: [string, string][] = [
  ['5 MB of unclosed <interface>', dom(rep('<interface>', 5 * MB))],
  ['5 MB of unclosed <interface> with a <mac>', dom(rep('<interface><mac address="52:54:00:00:00:01"/>', 5 * MB))],
  ['5 MB of <source without ">"', `<domain><name>other</name><devices><interface type='bridge'>${rep('<source ', 5 * MB)}`],
  ['a 5 MB attribute', dom(iface(`bridge='${'a'.repeat(5 * MB)}'`))],
  ['a 5 MB unterminated attribute', dom(`<interface type='bridge'><source bridge='${'a'.repeat(5 * MB)}`)],
  ['5 MB of attributes', dom(iface(rep("a='b' ", 5 * MB).replace(/a=/g, () => `a${Math.random().toString(36).slice(2)}=`)))],
  ['5 MB of unclosed comments', dom(rep('<!--', 5 * MB))],
  ['5 MB of NULs', '\0'.repeat(5 * MB)],
  ['5 MB of interfaces on another bridge', dom(rep(iface("bridge='br-other'"), 5 * MB))],
  ['5 MB naming our bridge in text only', dom(`<description>${rep('virbr10 ', 5 * MB)}</description>${iface("bridge='br-other'")}`)],
  ['&#x110000; (past Unicode)', dom(iface("bridge='x&#x110000;'"))],
  ['&#99999999999999999999;', dom(iface("bridge='x&#99999999999999999999;'"))],
  ['&#0; and &#xD800;', dom(iface("bridge='x&#0;&#xD800;'"))],
  ['a character reference in the name', `<domain><name>a&#x110000;b</name><devices>${iface("bridge='br-other'")}</devices></domain>`],
  ['latin-1 bytes', Buffer.from(dom(iface("bridge='br-\xe9'")), 'latin1').toString('binary')],
  ['an internal DTD subset with entities', `<!DOCTYPE d [<!ENTITY a "&#x110000;">]>${dom(iface("bridge='&a;'"))}`],
];

const NETWORK: [string, string, string][] = [
  ['start', '5 MB of <network> without <bridge>', `<hookData>${rep('<network>', 5 * MB)}</hookData>`],
  ['start', 'a 5 MB <network> without <bridge>', net(rep('<forward mode="nat"/>', 5 * MB))],
  ['start', 'a 5 MB <network> naming our bridge in text only', net(`<description>${rep('virbr10 ', 5 * MB)}</description><bridge name='br-other'/>`)],
  ['port-created', '5 MB of <plug without ">"', net(rep('<plug ', 5 * MB))],
  ['start', '&#x110000; in the bridge name', net("<bridge name='x&#x110000;'/>")],
  [
    'port-created',
    '&#x110000; in the plug',
    `<hookData><network><name>n</name><bridge name='br-other'/></network><networkport><owner><name>v&#x110000;</name></owner><mac address='52:54:00:00:00:01'/><plug bridge='&#x110000;'/></networkport></hookData>`,
  ],
];

let dir: string;
let env: Record<string, string>;

/** exit code (128 after a signal or the timeout, the reason then on stderr), stdout, stderr */
async function runShim(kind: 'qemu' | 'network', argv: string[], input: string) {
  // env -i: exactly this environment, none of the test runner's
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await exec(['env', '-i', ...vars, process.execPath, join(REPO, 'hooks', kind), ...argv], { input, timeoutSeconds: 10 });
  return [r.code, r.stdout, r.stderr];
}

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist/fast/hook/prefilter.cjs'))) throw new Error('run npm run build first');
  dir = mkdtempSync(join(tmpdir(), 'nn-hook-input-'));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/config.toml'), ''); // the default network: virbr10
  env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', NATNET_HOOK_CONFIG: join(dir, 'etc/config.toml'), NATNET_HOOK_STATE_DIR: join(dir, 'state') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['without the bridge cache (main.js decides)', false],
  ['with the bridge cache (the CommonJS prefilter decides)', true],
])('hostile XML for objects not ours, %s', (_name, cached) => {
  beforeAll(async () => {
    rmSync(join(dir, 'state'), { recursive: true, force: true });
    if (cached) await runShim('qemu', ['warm', 'prepare', 'begin', '-'], dom(''));
    expect(existsSync(join(dir, 'state/run/hook-networks.json'))).toBe(cached);
  });

  it.each(QEMU)('qemu prepare, %s: exit 0, nothing printed', async (_what, xml) => {
    for (const op of ['prepare', 'started', 'release']) expect(await runShim('qemu', ['other', op, 'begin', '-'], xml)).toEqual([0, '', '']);
  });

  it.each(NETWORK)('network %s, %s: exit 0, nothing printed', async (op, _what, xml) => {
    expect(await runShim('network', ['other', op, 'begin', '-'], xml)).toEqual([0, '', '']);
  });

  it('each of them is logged', () => {
    const lines = readFileSync(join(dir, 'state/log/hooks.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.event.startsWith('other ')).every((l) => l.exit === 0)).toBe(true);
    expect(lines.filter((l) => l.event.startsWith('other ')).length).toBeGreaterThanOrEqual(QEMU.length * 3 + NETWORK.length);
  });
});
