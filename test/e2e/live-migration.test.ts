import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInstall } from '../../src/commands/install.js';
import { makeContext } from '../../src/engine/context.js';
import type { HookLogRecord } from '../../src/hook/log-record.js';
import { NATNET_XMLNS } from '../../src/libvirt/metadata.js';
import { silentLogger } from '../../src/log.js';
import type { DomainRecord } from '../../src/model/types.js';
import { readDnsmasqLeases } from '../../src/observe/dnsmasq-leases.js';
import { boundedExec, mustRun } from '../../src/selftest/exec.js';
import { dnsmasqPaths, domainFile, hooksLogFile, layoutOf } from '../../src/state/layout.js';
import { buildGuestInitramfs, findGuestKernel } from '../helpers/guest-initramfs.js';
import { bridgeInterface, guestDomainXml, LibvirtSandbox } from '../helpers/libvirtd.js';
import { needs } from '../helpers/requirements.js';

/**
 * A real live migration between two natnet-hook hosts: two libvirtd 9.0 sandboxes (each its own
 * network, mount and PID namespace, host_uuid and natnet-hook state), joined by a veth link. A
 * TCG guest with a <metadata> reservation runs on A and is moved with `virsh migrate --live` (the
 * client talks to B's daemon over its unix socket; QEMU's migration stream crosses the link).
 * The guest's udhcpc renews every few seconds (SIGUSR1: RENEWING, unicast to 192.168.100.1).
 * A capture hook in qemu.d/ keeps the XML libvirt passes to every hook call.
 * libvirt 9.0 passes `-` as release's reason (`migrated` only since 10.5): the source's
 * `release end migrated` is replayed with the XML the real `release end -` got.
 */
const kernel = findGuestKernel();
const req = needs({ root: true, bins: ['libvirtd', 'virtlogd', 'virsh', 'qemu-system-x86_64', 'nsenter', 'unshare', 'dnsmasq', 'busybox'] });
const reason = req.reason || (kernel ? '' : ' [SKIPPED: needs a kernel in /boot + /lib/modules (apt: linux-image-cloud-amd64)]');
if (!kernel && process.env.NATNET_REQUIRE_ALL === '1') throw new Error(`NATNET_REQUIRE_ALL=1 but this suite${reason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hostExec = boundedExec(60);
const MAC1 = '52:54:00:e3:e0:01';
const MAC2 = '52:54:00:e3:e0:02';
const IP1 = '192.168.100.10';
const BIN = join(import.meta.dirname, '../../bin/natnet-hook');
const CAPTURE = (dir: string) => `#!/bin/sh
# keeps what libvirt passes: argv in the name, stdin as the file; prints nothing (stdout would be XML)
n=$(ls "${dir}" | wc -l)
cat > "${dir}/$(printf %03d "$n") $1 $2 $3 $4.xml"
exit 0
`;

interface Host {
  name: 'a' | 'b';
  lab: string;
  sb: LibvirtSandbox;
  link: string;
  addr: string;
}

describe.skipIf(!req.ok || !kernel)(`live migration between two natnet-hook hosts, real libvirtd${reason}`, () => {
  let root: string;
  let kernelCopy: string;
  let initrd: string;
  const hosts: Host[] = [];
  const [A, B] = [() => hosts[0], () => hosts[1]];
  const config = (h: Host) => join(h.lab, 'etc/config.toml');
  const stateDir = (h: Host) => join(h.lab, 'nn-state');
  const layout = (h: Host) => layoutOf({ config: config(h), stateDir: stateDir(h) }, {});
  const captured = (h: Host) => join(h.lab, 'captured');
  const record = (h: Host, vm: string) => JSON.parse(readFileSync(domainFile(layout(h), vm), 'utf8')) as DomainRecord;
  const hooksLog = (h: Host) =>
    existsSync(hooksLogFile(layout(h)))
      ? readFileSync(hooksLogFile(layout(h)), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as HookLogRecord)
      : [];
  const events = (h: Host, vm: string) => hooksLog(h).filter((r) => r.vm === vm).map((r) => [r.event, r.action, r.exit]);
  const consoleOf = (vm: string) => join(root, `console-${vm}.log`);
  const consoleText = (vm: string) => (existsSync(consoleOf(vm)) ? readFileSync(consoleOf(vm), 'utf8') : '');
  const leases = (h: Host) => {
    const f = dnsmasqPaths(layout(h), 'natnet').leases;
    return existsSync(f) ? readDnsmasqLeases(readFileSync(f, 'utf8')).leases : [];
  };
  const natnet = (h: Host, ...args: string[]) => h.sb.exec([process.execPath, BIN, '--config', config(h), '--state-dir', stateDir(h), ...args]);

  function define(h: Host, name: string, mac: string, ip: string) {
    const meta = `<natnet:lease xmlns:natnet="${NATNET_XMLNS}" ip="${ip}"/>`;
    const xml = guestDomainXml({ name, kernel: kernelCopy, initrd, console: consoleOf(name), interfaces: [bridgeInterface('virbr10', mac)], metadata: meta });
    writeFileSync(join(h.lab, `${name}.xml`), xml);
    return h.sb.virsh('define', join(h.lab, `${name}.xml`));
  }

  /** The first console line matching `re` after offset `from`. */
  async function consoleLine(vm: string, re: RegExp, from = 0, timeoutMs = 90_000): Promise<string | null> {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(250)) {
      const line = consoleText(vm).slice(from).split('\n').find((l) => re.test(l));
      if (line) return line;
    }
    return null;
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'nn-e2e-migrate-'));
    chmodSync(root, 0o755); // dnsmasq runs as nobody and reads the hostsfile below it
    kernelCopy = join(root, 'vmlinuz');
    writeFileSync(kernelCopy, readFileSync(kernel!.kernel));
    initrd = join(root, 'initrd.gz');
    writeFileSync(initrd, buildGuestInitramfs(kernel!, { renewEverySeconds: 2 }));
    for (const [i, name] of (['a', 'b'] as const).entries()) {
      const lab = join(root, name);
      mkdirSync(join(lab, 'etc'), { recursive: true });
      mkdirSync(join(lab, 'captured'));
      chmodSync(lab, 0o755);
      // the same config on both hosts (the handbook's network: virbr10, 192.168.100.1/24, pinned MAC)
      writeFileSync(join(lab, 'etc/config.toml'), '');
      const sb = new LibvirtSandbox(lab);
      hosts.push({ name, lab, sb, link: `mig-${name}`, addr: `10.99.0.${i + 1}` });
      await sb.start();
      // libvirt refuses a migration to a host with its own UUID
      writeFileSync(join(sb.state, 'etc/libvirt/libvirtd.conf'), `${readFileSync(join(sb.state, 'etc/libvirt/libvirtd.conf'), 'utf8')}\nhost_uuid = "00000000-0000-4000-8000-00000000000${i + 1}"\n`);
      const ctx = makeContext({ config: join(lab, 'etc/config.toml'), stateDir: join(lab, 'nn-state'), log: silentLogger(), env: {} });
      await runInstall(ctx, { root: sb.state, print: () => {}, hookApp: join(sb.state, 'usr/lib/natnet-hook/current') });
      writeFileSync(join(sb.state, 'etc/libvirt/hooks/qemu.d/00-capture'), CAPTURE(join(lab, 'captured')), { mode: 0o755 });
      await sb.stopLibvirtd();
      await sb.startDaemons();
    }
    await mustRun(hostExec, ['ip', 'netns', 'exec', A().sb.netns, 'ip', 'link', 'add', A().link, 'type', 'veth', 'peer', 'name', B().link, 'netns', B().sb.netns]);
    for (const h of hosts) {
      await h.sb.must(['ip', 'addr', 'add', `${h.addr}/24`, 'dev', h.link]);
      await h.sb.must(['ip', 'link', 'set', h.link, 'up']);
    }
  }, 300_000);

  afterAll(async () => {
    for (const h of hosts) await h.sb.stop();
    if (root && !process.env.NATNET_KEEP_LAB) rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('on A: the guest boots and gets its metadata reservation', async () => {
    expect((await define(A(), 'vm1', MAC1, IP1)).code).toBe(0);
    const start = await A().sb.virsh('start', 'vm1');
    expect([start.code, start.stderr]).toEqual([0, '']);
    expect(await consoleLine('vm1', /^NATNET-DHCP bound/)).toContain(`ip=${IP1}`);
    expect(await consoleLine('vm1', /^NATNET-DHCP renew/)).toContain(`ip=${IP1}`);
  }, 120_000);

  it('virsh migrate --live to B: B accepts it (migrate, prepare, start, started), the renewal there is ACKed with the same address', async () => {
    const from = consoleText('vm1').length;
    const dest = `qemu+unix:///system?socket=${join(B().sb.state, 'run/libvirt/libvirt-sock')}`;
    const mig = await A().sb.virsh('migrate', '--live', 'vm1', dest, '--migrateuri', `tcp://${B().addr}:49152`);
    expect([mig.code, mig.stderr]).toEqual([0, '']);
    expect((await B().sb.virsh('domstate', 'vm1')).stdout.trim()).toBe('running');
    expect(events(B(), 'vm1').map(([e, _a, x]) => [e, x])).toEqual([
      ['vm1 migrate begin -', 0],
      ['vm1 prepare begin -', 0],
      ['vm1 start begin -', 0],
      ['vm1 started begin -', 0],
    ]);
    expect(events(B(), 'vm1')[0][1]).toBe('accepted incoming migration (reservation free here)');
    // the guest never saw a NAK or lost its address: its next renewal, now answered by B's dnsmasq
    const renewed = await consoleLine('vm1', /^NATNET-DHCP (renew|bound|deconfig|leasefail|nak)/, from);
    expect(renewed).toContain(`renew ip=${IP1}`);
    for (let i = 0; i < 40 && !leases(B()).some((l) => l.mac === MAC1); i++) await sleep(250);
    expect(leases(B()).filter((l) => l.mac === MAC1).map((l) => l.ip)).toEqual([IP1]);
    expect(consoleText('vm1').slice(from)).not.toMatch(/NATNET-DHCP (deconfig|nak|bound)/);
    expect((await B().sb.exec(['busybox', 'ping', '-c', '1', '-W', '2', IP1])).code).toBe(0);
    const status = await natnet(B(), 'status', '--json');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('"vm1"');
    expect(record(B(), 'vm1')).toMatchObject({ running: true, nics: [{ mac: MAC1, bridge: 'virbr10' }], metadataLeases: [{ ip: IP1 }] });
  }, 180_000);

  it('on A (libvirt 9.0: release reason `-`): release end migrated replayed with the real XML frees the VM’s address for a later VM', async () => {
    expect(events(A(), 'vm1').slice(-2).map(([e]) => e)).toEqual(['vm1 stopped end -', 'vm1 release end -']);
    const release = readdirSync(captured(A())).filter((f) => f.endsWith(' vm1 release end -.xml')).at(-1)!;
    const xml = readFileSync(join(captured(A()), release), 'utf8');
    const hook = join(A().sb.state, 'etc/libvirt/hooks/qemu.d/natnet-hook');
    const replay = await A().sb.exec([hook, 'vm1', 'release', 'end', 'migrated'], { input: xml, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', HOME: '/root' } });
    expect([replay.code, replay.stdout, replay.stderr]).toEqual([0, '', '']);
    expect(record(A(), 'vm1')).toMatchObject({ running: false, metadataLeases: [], migratedAt: expect.any(String) });
    expect(leases(A()).filter((l) => l.mac === MAC1)).toEqual([]);

    expect((await define(A(), 'vm2', MAC2, IP1)).code).toBe(0);
    const start = await A().sb.virsh('start', 'vm2');
    expect([start.code, start.stderr]).toEqual([0, '']);
    expect(await consoleLine('vm2', /^NATNET-DHCP bound/)).toContain(`ip=${IP1}`);
  }, 180_000);

  it('B refuses a second VM arriving with an address B already gives out, in one line', async () => {
    // vm2 on A holds 192.168.100.10 there; on B vm1 holds it: moving vm2 to B must be refused by the migrate hook
    const dest = `qemu+unix:///system?socket=${join(B().sb.state, 'run/libvirt/libvirt-sock')}`;
    const mig = await A().sb.virsh('migrate', '--live', 'vm2', dest, '--migrateuri', `tcp://${B().addr}:49153`);
    expect(mig.code).not.toBe(0);
    expect(mig.stderr).toMatch(/natnet-hook: incoming migration of VM "vm2" refused: .*192\.168\.100\.10.*"vm1"/);
    expect((await A().sb.virsh('domstate', 'vm2')).stdout.trim()).toBe('running');
    expect(events(B(), 'vm2')).toEqual([['vm2 migrate begin -', 'refused', 1]]);
  }, 120_000);
});
