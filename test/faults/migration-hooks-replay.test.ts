import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDnsmasqLeases } from '../../src/observe/dnsmasq-leases.js';
import { dnsmasqPaths, domainFile, layoutOf } from '../../src/state/layout.js';
import { exec, type Guest, Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

/**
 * A REPLAY of libvirt's hook sequence for a live migration between two natnet-hook hosts, with
 * the XML a real libvirtd 9.0 passed (captured by test/e2e/live-migration.test.ts, which does the
 * real `virsh migrate --live` when a guest kernel is there): two router namespaces A and B with
 * the same config, each its own state and dnsmasq; a guest namespace (udhcpc as a daemon) stands
 * in for the VM. Destination: migrate, prepare, start, started; the guest's veth moves from A's
 * bridge to B's; source: stopped, release with `migrated` (libvirt >= 10.5). Renewals that B's
 * dnsmasq has never seen the lease of: udhcpc's (RENEWING, unicast to the gateway) and a
 * hand-crafted broadcast one (REBINDING), both ACKed at once (dhcp-authoritative).
 */
const req = needs({ root: true, bins: ['ip', 'dnsmasq', 'udhcpc'] });
const FIX = join(REPO, 'test/fixtures/libvirt');
const fixture = (name: string) => readFileSync(join(FIX, `${name}.xml`), 'utf8');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAC = '52:54:00:e3:e0:01'; // the captured VM's
/**
 * A DHCPREQUEST as a client in REBINDING state sends it (RFC 2131 4.3.2): broadcast, ciaddr = the
 * address it holds, no server identifier, no requested-address option. argv: MAC IP. Prints the
 * answer's message type and yiaddr as JSON, or {"type":"timeout"}.
 */
const REBIND = `
const dgram = require('node:dgram');
const [mac, ip] = process.argv.slice(1);
const p = Buffer.alloc(244);
p[0] = 1; p[1] = 1; p[2] = 6;
p.writeUInt32BE(0x4e4e4d31, 4);
Buffer.from(ip.split('.').map(Number)).copy(p, 12);
Buffer.from(mac.split(':').map((h) => parseInt(h, 16))).copy(p, 28);
Buffer.from([99, 130, 83, 99]).copy(p, 236);
const pkt = Buffer.concat([p.subarray(0, 240), Buffer.from([53, 1, 3, 55, 2, 1, 3, 255])]);
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
const done = (o) => { process.stdout.write(JSON.stringify(o)); process.exit(0); };
setTimeout(() => done({ type: 'timeout' }), 5000);
s.on('message', (m) => {
  if (m.length < 240 || m.readUInt32BE(4) !== 0x4e4e4d31) return;
  let i = 240; let t = 0;
  while (i < m.length && m[i] !== 255) { if (m[i] === 0) { i++; continue; } if (m[i] === 53) t = m[i + 2]; i += 2 + m[i + 1]; }
  done({ type: { 5: 'ACK', 6: 'NAK' }[t] ?? String(t), yiaddr: [...m.subarray(16, 20)].join('.') });
});
s.bind(68, () => { s.setBroadcast(true); s.send(pkt, 67, '255.255.255.255'); });
`;
const IP = '192.168.100.10'; // its <metadata> lease

describe.skipIf(!req.ok)(`live migration, hook sequence replayed on two hosts with real dnsmasq${req.reason}`, () => {
  let a: Lab;
  let b: Lab;
  let guest: Guest;
  const hook = (lab: Lab, argv: string[], xml: string) =>
    exec(['ip', 'netns', 'exec', lab.router, 'env', '-i', `PATH=${PATH}`, `NATNET_HOOK_CONFIG=${lab.configPath}`, `NATNET_HOOK_STATE_DIR=${lab.stateDir}`, process.execPath, join(REPO, 'hooks/qemu'), ...argv], { input: xml });
  const layout = (lab: Lab) => layoutOf({ config: lab.configPath, stateDir: lab.stateDir }, {});
  const leases = (lab: Lab) => {
    const f = dnsmasqPaths(layout(lab), 'natnet').leases;
    return existsSync(f) ? readDnsmasqLeases(readFileSync(f, 'utf8')).leases : [];
  };
  const record = (lab: Lab, vm: string) => JSON.parse(readFileSync(domainFile(layout(lab), vm), 'utf8'));
  /** The running XML of start/started: the prepare XML with the tap libvirt created. */
  const withTap = (xml: string, tap: string) => xml.replace("<source bridge='virbr10'/>", `<source bridge='virbr10'/>\n      <target dev='${tap}'/>`);

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist/fast/hook/main.js'))) throw new Error('run npm run build first');
    a = await Lab.create();
    b = await Lab.create();
    for (const lab of [a, b]) lab.writeConfig(''); // the same config: the handbook's network, pinned gateway MAC
  }, 60_000);
  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  it('on A: prepare/start/started of the VM; its DHCP client gets the metadata address', async () => {
    const prepare = fixture('qemu-migrate').replace("<domain type='qemu'>", "<domain type='qemu' id='1'>");
    for (const op of ['prepare', 'start', 'started']) {
      const r = await hook(a, ['vm1', op, 'begin', '-'], op === 'prepare' ? prepare : withTap(prepare, 'vnet1'));
      expect([op, r.code, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
    }
    guest = await a.addGuest({ mac: MAC });
    await a.startDhcpDaemon(guest);
    expect(await a.waitForIp(guest, (ip) => ip === IP)).toBe(IP);
  });

  it('on B: migrate (nothing on stdout), prepare, start, started; the moved guest’s renewal is ACKed by B’s dnsmasq at once', async () => {
    const mig = await hook(b, ['vm1', 'migrate', 'begin', '-'], fixture('qemu-migrate'));
    expect([mig.code, mig.stdout, mig.stderr]).toEqual([0, '', '']);
    const prepare = fixture('qemu-migrate').replace("<domain type='qemu'>", "<domain type='qemu' id='1'>");
    for (const op of ['prepare', 'start', 'started']) {
      const r = await hook(b, ['vm1', op, 'begin', '-'], op === 'prepare' ? prepare : withTap(prepare, guest.port));
      expect([op, r.code, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
    }
    // the guest "resumes" on B: its port leaves A's bridge for B's, its address and ARP entry stay
    await a.mustRun(['ip', 'link', 'set', guest.port, 'netns', b.router]);
    await b.mustRun(['ip', 'link', 'set', guest.port, 'master', 'virbr10', 'up']);
    expect(leases(b)).toEqual([]);
    const before = a.guestLog(guest).length;
    a.renew(guest);
    for (let i = 0; i < 50 && !leases(b).some((l) => l.mac === MAC); i++) await new Promise((r) => setTimeout(r, 100));
    expect(leases(b).filter((l) => l.mac === MAC).map((l) => l.ip)).toEqual([IP]);
    expect(a.ipOf(guest)).toBe(IP);
    expect(a.guestLog(guest).slice(before)).not.toMatch(/deconfig|nak|leasefail/i);
    const status = await b.cli(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('vm1');
    expect(record(b, 'vm1')).toMatchObject({ running: true, nics: [{ mac: MAC, bridge: 'virbr10', tap: guest.port }] });
  });

  it('on B: a broadcast renewal (REBINDING: ciaddr set, no server id) is ACKed by a dnsmasq that has never seen the client', async () => {
    // B forgets the client as a fresh host would: dnsmasq stopped (by pid), lease file gone, `up` starts it again
    const paths = dnsmasqPaths(layout(b), 'natnet');
    process.kill(Number(readFileSync(paths.pid, 'utf8').trim()), 'SIGTERM');
    for (let i = 0; i < 50 && (await b.dnsmasqPids()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    rmSync(paths.leases, { force: true });
    await b.mustCli(['up']);
    expect(leases(b)).toEqual([]);
    const r = await exec(['ip', 'netns', 'exec', guest.ns, process.execPath, '-e', REBIND, MAC, IP]);
    expect(JSON.parse(r.stdout)).toEqual({ type: 'ACK', yiaddr: IP });
    expect(leases(b).filter((l) => l.mac === MAC).map((l) => l.ip)).toEqual([IP]);
  });

  it('on A: stopped, release end migrated: the record says migrated, the lease is gone, a later VM gets the same address', async () => {
    const xml = fixture('qemu-migrated-release');
    for (const [op, sub, extra] of [['stopped', 'end', '-'], ['release', 'end', 'migrated']]) {
      const r = await hook(a, ['vm1', op, sub, extra], xml);
      expect([op, r.code, r.stdout, r.stderr]).toEqual([op, 0, '', '']);
    }
    expect(record(a, 'vm1')).toMatchObject({ running: false, metadataLeases: [], migratedAt: expect.any(String) });
    expect(leases(a).filter((l) => l.mac === MAC)).toEqual([]);
    expect((await a.run(['test', '-s', dnsmasqPaths(layout(a), 'natnet').pid])).code).toBe(0);

    const later = fixture('qemu-migrate').replaceAll('vm1', 'vm2').replace(MAC, '52:54:00:e3:e0:02').replace(/<uuid>[^<]*<\/uuid>/, '');
    const r = await hook(a, ['vm2', 'prepare', 'begin', '-'], later);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const g2 = await a.addGuest({ mac: '52:54:00:e3:e0:02' });
    expect(await a.dhcp(g2)).toBe(IP);
  });
});
