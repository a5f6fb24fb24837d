import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInstall } from '../../src/commands/install.js';
import { makeContext } from '../../src/engine/context.js';
import type { HookLogRecord } from '../../src/hook/log-record.js';
import { NATNET_XMLNS } from '../../src/libvirt/metadata.js';
import { silentLogger } from '../../src/log.js';
import type { DomainRecord } from '../../src/model/types.js';
import { appliedFile, dnsmasqPaths, domainFile, hooksLogFile, layoutOf } from '../../src/state/layout.js';
import { buildGuestInitramfs, findGuestKernel } from '../helpers/guest-initramfs.js';
import { bridgeInterface, guestDomainXml, LibvirtSandbox } from '../helpers/libvirtd.js';
import { needs } from '../helpers/requirements.js';

/**
 * The hooks installed into a real libvirtd 9.0 (in namespaces made here), pointing at this
 * checkout with config and state in the test's temp dir. VMs are TCG guests booting the host's
 * Debian kernel with a busybox initramfs that runs udhcpc (see test/helpers/guest-initramfs.ts).
 */
const kernel = findGuestKernel();
const req = needs({ root: true, bins: ['libvirtd', 'virtlogd', 'virsh', 'qemu-system-x86_64', 'nsenter', 'unshare', 'dnsmasq', 'busybox'] });
const reason = req.reason || (kernel ? '' : ' [SKIPPED: needs a kernel in /boot + /lib/modules (apt: linux-image-cloud-amd64)]');
if (!kernel && process.env.NATNET_REQUIRE_ALL === '1') throw new Error(`NATNET_REQUIRE_ALL=1 but this suite${reason}`);

/** `natnet-hook uninstall --root R` from the build, run as a process inside the sandbox (argv: config, state dir, root). */
const UNINSTALL = `
const [config, stateDir, root] = process.argv.slice(1);
const { makeContext } = await import(${JSON.stringify(new URL('../../dist/engine/context.js', import.meta.url).href)});
const { runUninstall } = await import(${JSON.stringify(new URL('../../dist/commands/uninstall.js', import.meta.url).href)});
await runUninstall(makeContext({ config, stateDir, env: {}, quiet: true }), { root });
`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAC1 = '52:54:00:e2:e0:01';
const IP1 = '192.168.100.10';

describe.skipIf(!req.ok || !kernel)(`libvirt hooks with a real libvirtd${reason}`, () => {
  let lab: string;
  let sb: LibvirtSandbox;
  let kernelCopy: string;
  let initrd: string;
  const config = () => join(lab, 'etc/config.toml');
  const stateDir = () => join(lab, 'nn-state');
  const layout = () => layoutOf({ config: config(), stateDir: stateDir() }, {});
  const record = (vm: string) => JSON.parse(readFileSync(domainFile(layout(), vm), 'utf8')) as DomainRecord;
  const hooksLog = () =>
    readFileSync(hooksLogFile(layout()), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as HookLogRecord);
  const consoleOf = (vm: string) => join(lab, `console-${vm}.log`);
  const consoleText = (vm: string) => (existsSync(consoleOf(vm)) ? readFileSync(consoleOf(vm), 'utf8') : '');

  function define(name: string, interfaces: string[], metadata?: string) {
    const xml = guestDomainXml({ name, kernel: kernelCopy, initrd, console: consoleOf(name), interfaces, metadata });
    const file = join(lab, `${name}.xml`);
    writeFileSync(file, xml);
    return sb.virsh('define', file);
  }

  /** Waits for the guest's n-th DHCP "bound" line on its serial console. */
  async function boundIp(vm: string, n = 1, timeoutMs = 90_000): Promise<string | null> {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(250)) {
      const lines = consoleText(vm).split('\n').filter((l) => l.startsWith('NATNET-DHCP bound'));
      if (lines.length >= n) return lines[n - 1].match(/ip=(\S+)/)?.[1] ?? null;
    }
    return null;
  }

  beforeAll(async () => {
    lab = mkdtempSync(join(tmpdir(), 'nn-e2e-libvirt-'));
    chmodSync(lab, 0o755); // dnsmasq runs as nobody and must read the hostsfile below it
    kernelCopy = join(lab, 'vmlinuz');
    writeFileSync(kernelCopy, readFileSync(kernel!.kernel));
    initrd = join(lab, 'initrd.gz');
    writeFileSync(initrd, buildGuestInitramfs(kernel!));
    mkdirSync(join(lab, 'etc'));
    writeFileSync(config(), ''); // the handbook's network: virbr10 192.168.100.1/24
    sb = new LibvirtSandbox(lab);
    await sb.start();
    // the sandbox's /etc/libvirt is <state>/etc/libvirt: install there, then make libvirtd see the hooks
    const ctx = makeContext({ config: config(), stateDir: stateDir(), log: silentLogger(), env: {} });
    // the sandbox shows the hooks <state>/etc/libvirt as /etc/libvirt, but not <state>/usr: name the runtime by its host path
    await runInstall(ctx, { root: sb.state, print: () => {}, hookApp: join(sb.state, 'usr/lib/natnet-hook/current') });
    await sb.stopLibvirtd();
    await sb.startDaemons();
    await sb.must(['ip', 'link', 'add', 'br-other', 'type', 'bridge']);
    await sb.must(['ip', 'link', 'set', 'br-other', 'up']);
  }, 180_000);

  afterAll(async () => {
    await sb?.stop();
    if (lab && !process.env.NATNET_KEEP_LAB) rmSync(lab, { recursive: true, force: true });
  }, 120_000);

  it('virsh start: virbr10 (absent before), rules and dnsmasq come up; the metadata reservation is served by DHCP', async () => {
    expect((await sb.exec(['ip', 'link', 'show', 'virbr10'])).code).not.toBe(0);
    const meta = `<natnet:lease xmlns:natnet="${NATNET_XMLNS}" ip="${IP1}" hostname="web"/>`;
    expect((await define('vm1', [bridgeInterface('virbr10', MAC1)], meta)).code).toBe(0);
    const start = await sb.virsh('start', 'vm1');
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);

    const link = JSON.parse(await sb.must(['ip', '-j', 'addr', 'show', 'virbr10']))[0];
    expect(link.address).toBe('52:54:00:7e:27:af');
    expect(link.addr_info.map((a: { local: string }) => a.local)).toContain('192.168.100.1');
    const rules = `${(await sb.exec(['iptables-save'])).stdout}${(await sb.exec(['nft', 'list', 'ruleset'])).stdout}`;
    expect(rules).toMatch(/192\.168\.100\.0\/24/);
    const hosts = readFileSync(dnsmasqPaths(layout(), 'natnet').hosts, 'utf8');
    expect(hosts).toContain(`${MAC1},id:*,${IP1},web`);
    const pid = readFileSync(dnsmasqPaths(layout(), 'natnet').pid, 'utf8').trim();
    expect((await sb.exec(['kill', '-0', pid])).code).toBe(0); // dnsmasq lives in the sandbox's PID namespace

    expect(await boundIp('vm1')).toBe(IP1);
    expect((await sb.exec(['busybox', 'ping', '-c', '1', '-W', '2', IP1])).code).toBe(0);
    const rec = record('vm1');
    expect(rec).toMatchObject({ vm: 'vm1', running: true, nics: [{ mac: MAC1, bridge: 'virbr10' }] });
    expect(rec.nics[0].tap).toMatch(/^vnet\d+$/);
    const events = hooksLog().filter((r) => r.vm === 'vm1').map((r) => [r.event, r.action, r.exit]);
    expect(events).toEqual([
      ['vm1 prepare begin -', 'up', 0],
      ['vm1 start begin -', 'recorded taps', 0],
      ['vm1 started begin -', 'recorded taps', 0],
    ]);
  });

  it('virsh destroy, then a second start: the VM gets the same address again', async () => {
    expect((await sb.virsh('destroy', 'vm1')).code).toBe(0);
    const rec = record('vm1');
    expect(rec).toMatchObject({ running: false, nics: [{ mac: MAC1, bridge: 'virbr10' }] });
    expect((await sb.virsh('start', 'vm1')).code).toBe(0);
    expect(await boundIp('vm1', 2)).toBe(IP1);
    // nothing changed since the first start: prepare skipped the engine after verifying the network
    const prepares = hooksLog().filter((r) => r.event === 'vm1 prepare begin -');
    expect(prepares.map((r) => r.action)).toEqual(['up', 'up (unchanged since the last prepare; bridge and dnsmasq alive)']);
  });

  it('a libvirt network wrapping virbr10: the network hook and a type=network VM get their reservation', async () => {
    const net = `<network><name>natnet-lv</name><forward mode='bridge'/><bridge name='virbr10'/></network>`;
    writeFileSync(join(lab, 'natnet-lv.xml'), net);
    expect((await sb.virsh('net-define', join(lab, 'natnet-lv.xml'))).code).toBe(0);
    expect((await sb.virsh('net-start', 'natnet-lv')).code).toBe(0);
    mkdirSync(layout().leasesDir, { recursive: true });
    writeFileSync(join(layout().leasesDir, 'netvm.toml'), 'vm = "netvm"\nip = "192.168.100.30"\n');
    const iface = "<interface type='network'><mac address='52:54:00:e2:e0:03'/><source network='natnet-lv'/><model type='virtio'/></interface>";
    expect((await define('netvm', [iface])).code).toBe(0);
    const start = await sb.virsh('start', 'netvm');
    expect([start.code, start.stderr]).toEqual([0, '']);
    expect(await boundIp('netvm')).toBe('192.168.100.30');
    const log = hooksLog();
    expect(log.filter((r) => r.hook === 'network' && r.network === 'natnet-lv').map((r) => [r.event, r.action, r.exit])).toEqual([
      ['natnet-lv start begin -', 'up', 0],
      ['natnet-lv started begin -', 'nothing to do', 0],
      ['natnet-lv port-created begin -', 'up', 0],
    ]);
    // the qemu hook's prepare knew the VM is ours from the network hook's start
    expect(log.find((r) => r.event === 'netvm prepare begin -')).toMatchObject({ action: 'up', networks: ['natnet'] });
    expect((await sb.virsh('destroy', 'netvm')).code).toBe(0);
  });

  it('a VM not on our bridges starts untouched (no record, nothing applied for it)', async () => {
    expect((await define('other', [bridgeInterface('br-other', '52:54:00:e2:e0:99')])).code).toBe(0);
    const start = await sb.virsh('start', 'other');
    expect([start.code, start.stderr]).toEqual([0, '']);
    expect(existsSync(domainFile(layout(), 'other'))).toBe(false);
    expect(hooksLog().filter((r) => r.vm === 'other').map((r) => r.action)).toEqual([
      'ignored (not on our bridges)',
      'ignored (not on our bridges)',
      'ignored (not on our bridges)',
    ]);
    expect((await sb.virsh('destroy', 'other')).code).toBe(0);
  });

  it('a VM whose metadata disagrees with its leases.d file is refused with our one-line message', async () => {
    mkdirSync(layout().leasesDir, { recursive: true });
    writeFileSync(join(layout().leasesDir, 'bad.toml'), 'vm = "bad"\nip = "192.168.100.20"\n');
    const meta = `<natnet:lease xmlns:natnet="${NATNET_XMLNS}" ip="192.168.100.21"/>`;
    expect((await define('bad', [bridgeInterface('virbr10', '52:54:00:e2:e0:02')], meta)).code).toBe(0);
    const start = await sb.virsh('start', 'bad');
    expect(start.code).not.toBe(0);
    expect(start.stderr).toMatch(/Hook script execution failed.*natnet-hook: VM "bad" not started: .*192\.168\.100\.21.*192\.168\.100\.20/);
    expect((await sb.virsh('domstate', 'bad')).stdout.trim()).toBe('shut off');
    expect(readFileSync(dnsmasqPaths(layout(), 'natnet').hosts, 'utf8')).not.toContain('52:54:00:e2:e0:02');
  });

  it('libvirtd restarted with the VM running: reconnect keeps it alive and the network up', async () => {
    await sb.stopLibvirtd();
    await sb.startDaemons();
    for (let i = 0; i < 50 && !hooksLog().some((r) => r.event === 'vm1 reconnect begin -'); i++) await sleep(100);
    expect(hooksLog().filter((r) => r.event === 'vm1 reconnect begin -').map((r) => [r.action, r.exit])).toEqual([['up', 0]]);
    expect((await sb.virsh('domstate', 'vm1')).stdout.trim()).toBe('running');
    expect((await sb.exec(['busybox', 'ping', '-c', '1', '-W', '2', IP1])).code).toBe(0);
  });
  it('install --disable-libvirt-default-network: refused while a running VM uses it, then destroys + un-autostarts it', async () => {
    writeFileSync(join(lab, 'default.xml'), "<network><name>default</name><bridge name='virbr0'/></network>");
    for (const args of [['net-define', join(lab, 'default.xml')], ['net-start', 'default'], ['net-autostart', 'default']]) {
      expect((await sb.virsh(...args)).code).toBe(0);
    }
    const iface = "<interface type='network'><mac address='52:54:00:e2:e0:04'/><source network='default'/><model type='virtio'/></interface>";
    expect((await define('dflt', [iface])).code).toBe(0);
    expect((await sb.virsh('start', 'dflt')).code).toBe(0);
    const uri = `qemu:///system?socket=${join(sb.state, 'run/libvirt/libvirt-sock')}`;
    const ctx = makeContext({ config: config(), stateDir: stateDir(), log: silentLogger(), env: {} });
    const opts = { root: sb.state, print: () => {}, hookApp: join(sb.state, 'usr/lib/natnet-hook/current'), disableLibvirtDefaultNetwork: true, libvirtUri: uri };
    await expect(runInstall(ctx, opts)).rejects.toThrow(/"default" network is in use by running VM\(s\) "dflt"/);
    expect((await sb.virsh('net-info', 'default')).stdout).toMatch(/Active:\s+yes/);
    expect((await sb.virsh('destroy', 'dflt')).code).toBe(0);
    await runInstall(ctx, opts);
    const info = (await sb.virsh('net-info', 'default')).stdout;
    expect(info).toMatch(/Active:\s+no/);
    expect(info).toMatch(/Autostart:\s+no/);
  });

  it('uninstall: the network is taken down, the hooks and files are gone', async () => {
    expect((await sb.virsh('destroy', 'vm1')).code).toBe(0);
    // inside the sandbox's namespaces: uninstall takes down what the hooks applied there
    const r = await sb.exec([process.execPath, '--input-type=module', '-e', UNINSTALL, config(), stateDir(), sb.state]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('down natnet');
    expect(existsSync(join(sb.state, 'etc/libvirt/hooks/qemu.d/natnet-hook'))).toBe(false);
    expect(existsSync(join(sb.state, 'etc/libvirt/hooks/network.d/natnet-hook'))).toBe(false);
    expect((await sb.exec(['ip', 'link', 'show', 'virbr10'])).code).not.toBe(0);
    expect((await sb.exec(['pgrep', '-x', 'dnsmasq'])).stdout.trim()).toBe('');
    expect(existsSync(appliedFile(layout(), 'natnet'))).toBe(false);
    expect(existsSync(config())).toBe(true); // the config stays without --purge
    const pid = sb.daemonPid('libvirtd');
    expect((await sb.exec(['kill', '-HUP', String(pid)])).code).toBe(0); // what uninstall does for root /
  });
});
