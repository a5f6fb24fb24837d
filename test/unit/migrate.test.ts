import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Context } from '../../src/engine/context.js';
import { makeContext } from '../../src/engine/context.js';
import { departedFrom, forgetLeases, leaseFileWithout } from '../../src/engine/forget-leases.js';
import { silentLogger } from '../../src/log.js';
import { type DownOptions, type NetworkChange, type UpOptions, up } from '../../src/engine/index.js';
import { applyDomainEvent, qemuDomainEvent } from '../../src/hook/domain-record.js';
import { runHook } from '../../src/hook/main.js';
import { type HostNow, incomingConflict, refuseIncoming } from '../../src/hook/migrate.js';
import type { HookEngine } from '../../src/hook/outcome.js';
import { prefilter } from '../../src/hook/prefilter.js';
import type { LoadedConfig } from '../../src/config/load.js';
import type { DomainRecord, Lease, Network } from '../../src/model/types.js';
import type { LinkState } from '../../src/observe/links.js';
import { domainRecord } from '../../src/state/schema.js';
import { fileStem } from '../../src/state/layout.js';

const FIX = join(import.meta.dirname, '../fixtures/libvirt');
const fixture = (name: string) => readFileSync(join(FIX, `${name}.xml`), 'utf8');
/** What libvirt passes to `migrate`: the domain XML (qemuDomainDefFormatXML with MIGRATABLE), here the prepare fixture. */
const VM1 = () => fixture('qemu-bridge-prepare');
const withMetadata = (xml: string, ip: string) =>
  xml.replace(
    '<uuid>',
    `<metadata><natnet:leases xmlns:natnet="https://natnet-hook.dev/xmlns/1"><natnet:lease ip="${ip}"/></natnet:leases></metadata>\n  <uuid>`,
  );

class FakeEngine implements HookEngine {
  calls: { fn: 'up' | 'down'; opts: UpOptions & DownOptions }[] = [];
  async up(_ctx: Context, opts: UpOptions): Promise<NetworkChange[]> {
    this.calls.push({ fn: 'up', opts });
    return (opts.ifApplied ?? []).map((network) => ({ network, actions: ['forget dnsmasq lease'] }));
  }
  async down(_ctx: Context, opts: DownOptions): Promise<NetworkChange[]> {
    this.calls.push({ fn: 'down', opts });
    return [];
  }
}

const CONFIG = `
[[network]]
name = "natnet"
bridge = "virbr10"
address = "192.168.100.1/24"
`;

let dir: string;
let engine: FakeEngine;
let errors: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nn-migrate-unit-'));
  writeFileSync(join(dir, 'config.toml'), CONFIG);
  engine = new FakeEngine();
  errors = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const opts = (stdin: string) => ({
  config: join(dir, 'config.toml'),
  stateDir: join(dir, 'state'),
  stdin,
  engine,
  env: {},
  writeError: (l: string) => errors.push(l),
});
const migrate = (xml: string, vm = 'lv-vm1') => runHook('qemu', [vm, 'migrate', 'begin', '-'], opts(xml));
const lastLog = () => JSON.parse(readFileSync(join(dir, 'state/log/hooks.log'), 'utf8').trim().split('\n').at(-1)!);
const recordFile = (vm: string) => join(dir, 'state/lib/domains', `${fileStem(vm)}.json`);
function writeRecord(rec: DomainRecord): void {
  mkdirSync(join(dir, 'state/lib/domains'), { recursive: true });
  writeFileSync(recordFile(rec.vm), JSON.stringify(rec));
}
const other = (over: Partial<DomainRecord> = {}): DomainRecord => ({
  vm: 'other',
  nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10' }],
  metadataLeases: [],
  running: true,
  updated: '2025-01-01T00:00:00.000Z',
  ...over,
});

/** Runs fn with process.stdout.write watched: libvirt would take anything written as the new domain XML. */
async function silently<T>(fn: () => Promise<T>): Promise<T> {
  const write = vi.spyOn(process.stdout, 'write');
  try {
    const out = await fn();
    expect(write).not.toHaveBeenCalled();
    return out;
  } finally {
    write.mockRestore();
  }
}

describe('qemu migrate on the destination', () => {
  it('a VM not on our bridges: exit 0, nothing on stdout, nothing read beyond the XML', async () => {
    const xml = VM1().replaceAll("bridge='virbr10'", "bridge='br0'");
    expect(await silently(() => migrate(xml))).toBe(0);
    expect(errors).toEqual([]);
    expect(lastLog()).toMatchObject({ event: 'lv-vm1 migrate begin -', action: 'ignored (not on our bridges)', exit: 0 });
  });

  it('a VM not ours with a broken config and state: still exit 0, never a word on stdout', async () => {
    writeFileSync(join(dir, 'config.toml'), '[[network]\nname = ');
    mkdirSync(join(dir, 'state/lib'), { recursive: true });
    writeFileSync(join(dir, 'state/lib/domains'), 'not a directory');
    const xml = VM1().replaceAll("bridge='virbr10'", "bridge='br0'");
    expect(await silently(() => migrate(xml))).toBe(0);
    expect(errors).toEqual([]);
  });

  it('our VM whose reservation is free: accepted, exit 0, stdout empty, no engine run', async () => {
    writeFileSync(join(dir, 'config.toml'), `${CONFIG}\n[[lease]]\nvm = "lv-vm1"\nip = "192.168.100.10"\n`);
    expect(await silently(() => migrate(VM1()))).toBe(0);
    expect(errors).toEqual([]);
    expect(engine.calls).toEqual([]);
    expect(lastLog()).toMatchObject({ action: 'accepted incoming migration (reservation free here)', networks: ['natnet'], exit: 0 });
  });

  it('its metadata address is reserved here for another VM (config): refused, exit 1, one line', async () => {
    writeFileSync(join(dir, 'config.toml'), `${CONFIG}\n[[lease]]\nvm = "db"\nip = "192.168.100.10"\n`);
    expect(await silently(() => migrate(withMetadata(VM1(), '192.168.100.10')))).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^natnet-hook: incoming migration of VM "lv-vm1" refused: .*192\.168\.100\.10.*"db"/);
    expect(errors[0].trimEnd()).not.toContain('\n');
  });

  it('its metadata address is held by another VM’s metadata here (leases.d rules of prepare): refused', async () => {
    writeRecord(other({ vm: 'db', nics: [{ mac: '52:54:00:aa:bb:77', bridge: 'virbr10' }], metadataLeases: [{ ip: '192.168.100.10' }], running: false }));
    expect(await migrate(withMetadata(VM1(), '192.168.100.10'))).toBe(1);
    expect(errors[0]).toContain('"db"');
  });

  it('a VM that migrated away from here holds nothing: its old metadata address is free', async () => {
    const away = applyDomainEvent(other({ vm: 'db', nics: [{ mac: '52:54:00:aa:bb:77', bridge: 'virbr10' }], metadataLeases: [{ ip: '192.168.100.10' }] }), { kind: 'migrated' }, new Date());
    writeRecord(away);
    expect(await migrate(withMetadata(VM1(), '192.168.100.10'))).toBe(0);
    expect(errors).toEqual([]);
  });

  it('the XML a real libvirtd 9.0 passed to `migrate` (migratable form, metadata lease): accepted when free, refused when held', async () => {
    const real = fixture('qemu-migrate'); // captured by test/e2e/live-migration.test.ts
    expect(await silently(() => migrate(real, 'vm1'))).toBe(0);
    expect(lastLog()).toMatchObject({ event: 'vm1 migrate begin -', action: 'accepted incoming migration (reservation free here)', exit: 0 });
    writeFileSync(join(dir, 'config.toml'), `${CONFIG}\n[[lease]]\nvm = "db"\nip = "192.168.100.10"\n`);
    expect(await silently(() => migrate(real, 'vm1'))).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^natnet-hook: incoming migration of VM "vm1" refused: .*192\.168\.100\.10/);
  });

  it('an invalid <metadata> lease: refused as prepare refuses it', async () => {
    expect(await migrate(withMetadata(VM1(), 'not-an-ip'))).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^natnet-hook: incoming migration of VM "lv-vm1" refused: its <metadata> natnet lease is invalid: /);
  });

  it('its address outside every network of this host: refused', async () => {
    expect(await migrate(withMetadata(VM1(), '10.9.9.9'))).toBe(1);
    expect(errors[0]).toMatch(/refused: .*10\.9\.9\.9.*inside a configured network/);
  });

  it('its MAC is in use by another VM running here: refused', async () => {
    writeRecord(other());
    expect(await migrate(VM1())).toBe(1);
    expect(errors[0]).toContain('MAC 52:54:00:aa:bb:01 is in use by VM "other" running here');
  });

  it('its MAC is pinned to another VM’s lease: refused', async () => {
    writeFileSync(join(dir, 'config.toml'), `${CONFIG}\n[[lease]]\nvm = "db"\nip = "192.168.100.11"\nmac = "52:54:00:aa:bb:01"\n`);
    expect(await migrate(VM1())).toBe(1);
    expect(errors[0]).toContain('MAC 52:54:00:aa:bb:01 is reserved for VM "db"');
  });

  it('dnsmasq here still leases its address to another MAC: refused; an expired lease is not in the way', async () => {
    writeFileSync(join(dir, 'config.toml'), `${CONFIG}\n[[lease]]\nvm = "lv-vm1"\nip = "192.168.100.10"\n`);
    mkdirSync(join(dir, 'state/lib'), { recursive: true });
    const later = Math.floor(Date.now() / 1000) + 3600;
    writeFileSync(join(dir, 'state/lib/natnet.leases'), `${later} 52:54:00:aa:bb:99 192.168.100.10 old *\n`);
    expect(await migrate(VM1())).toBe(1);
    expect(errors[0]).toContain('still leases 192.168.100.10 to 52:54:00:aa:bb:99');
    errors = [];
    writeFileSync(join(dir, 'state/lib/natnet.leases'), `1000 52:54:00:aa:bb:99 192.168.100.10 old *\n${later} 52:54:00:aa:bb:01 192.168.100.10 vm1 *\n`);
    expect(await migrate(VM1())).toBe(0);
    expect(errors).toEqual([]);
  });

  it('the prefilter hands migrate of our VM to the full path (it needs the config) and settles others itself', async () => {
    // a first (full) run caches the configured bridges for the prefilter
    await migrate(VM1().replaceAll("bridge='virbr10'", "bridge='br0'"));
    const o = { config: join(dir, 'config.toml'), stateDir: join(dir, 'state') };
    const theirs = await silently(() => prefilter('qemu', ['lv-vm1', 'migrate', 'begin', '-'], o, {}, VM1().replaceAll("bridge='virbr10'", "bridge='br0'")));
    expect(theirs).toEqual({ done: true, exit: 0 });
    const ours = await prefilter('qemu', ['lv-vm1', 'migrate', 'begin', '-'], o, {}, VM1());
    expect(ours.done).toBe(false);
  });
});

describe('incomingConflict (pure)', () => {
  const net = { name: 'natnet', bridge: 'virbr10', subnet: '192.168.100.0', prefix: 24 } as Network;
  const lease = (vm: string, ip: string, macs: string[] = []): Lease => ({ vm, ip, ip6: null, macs, hostname: null, source: { file: 'config.toml', field: 'lease[0]' } });
  const incoming: DomainRecord = { vm: 'vm1', nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10' }], metadataLeases: [], running: true, updated: '' };
  const config = (domains: DomainRecord[], leases: Lease[] = []) => ({ networks: [net], leases, domains }) as unknown as LoadedConfig;
  const host = (over: Partial<HostNow> = {}): HostNow => ({ now: 1000, links: new Map(), leasesOf: () => ({ leases: [], leases6: [] }), ...over });
  const tap = (name: string, mac: string): Map<string, LinkState> => new Map([[name, { name, kind: 'tun', mac, up: true, master: 'virbr10', addresses: [] }]]);

  it('a record that says running but whose taps are gone (a reboot) does not hold the MAC', () => {
    const stale = other({ nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10', tap: 'vnet3' }] });
    expect(incomingConflict(incoming, config([stale]), host())).toBeNull();
    expect(incomingConflict(incoming, config([stale]), host({ links: tap('vnet3', 'fe:54:00:aa:bb:01') }))).toContain('in use by VM "other"');
  });

  it('libvirt gave the stale record’s tap name to another VM: that tap (another MAC) does not make the record alive', () => {
    const stale = other({ nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10', tap: 'vnet3' }] });
    expect(incomingConflict(incoming, config([stale]), host({ links: tap('vnet3', 'fe:54:00:12:34:56') }))).toBeNull();
  });

  it('a record between prepare and start (no tap yet) is running', () => {
    expect(incomingConflict(incoming, config([other()]), host())).toContain('in use by VM "other"');
  });

  it('its own old record (it ran here before) is not a conflict', () => {
    expect(incomingConflict(incoming, config([{ ...incoming, running: true }]), host())).toBeNull();
  });

  it('a lease of its own address to its own MAC (it comes back) is not in the way', () => {
    const leasesOf = () => ({ leases: [{ expiry: 5000, mac: '52:54:00:aa:bb:01', ip: '192.168.100.10', hostname: null, line: 1 }], leases6: [] });
    expect(incomingConflict(incoming, config([], [lease('vm1', '192.168.100.10')]), host({ leasesOf }))).toBeNull();
    const infinite = () => ({ leases: [{ expiry: null, mac: '52:54:00:aa:bb:02', ip: '192.168.100.10', hostname: null, line: 1 }], leases6: [] });
    expect(incomingConflict(incoming, config([], [lease('vm1', '192.168.100.10')]), host({ leasesOf: infinite }))).toContain('without expiry');
  });

  it('dnsmasq here still leases the ip6 it would be served to another MAC (DHCPv6, MAC from the DUID): a conflict', () => {
    const net6 = { ...net, ipv6: { subnet: 'fd00:1:2:3::', prefix: 64, dhcpv6: 'stateful' } } as unknown as Network;
    const cfg = ({ networks: [net6], leases: [{ ...lease('vm1', '192.168.100.10'), ip6: '::10' }], domains: [] }) as unknown as LoadedConfig;
    const v6 = (mac: string | null) => () => ({
      leases: [],
      leases6: [{ expiry: null, iaid: 1, temporary: false, ip: 'fd00:1:2:3::10', hostname: null, duid: null, mac, line: 2 }],
    });
    expect(incomingConflict(incoming, cfg, host({ leasesOf: v6('52:54:00:aa:bb:02') }))).toContain('still leases fd00:1:2:3::10 to 52:54:00:aa:bb:02 (without expiry)');
    expect(incomingConflict(incoming, cfg, host({ leasesOf: v6('52:54:00:aa:bb:01') }))).toBeNull();
    // a DUID without a MAC (DUID-EN, UUID) may be its own: not held against it
    expect(incomingConflict(incoming, cfg, host({ leasesOf: v6(null) }))).toBeNull();
  });
});

describe('refuseIncoming (host injected)', () => {
  const ctx = () => makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger(), env: {} });
  const incoming: DomainRecord = { vm: 'vm1', nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10' }], metadataLeases: [], running: false, updated: '' };
  const hostWith = (links: Map<string, LinkState>, asked: boolean[]) => async (want: boolean): Promise<HostNow> => {
    asked.push(want);
    return { now: 1000, links, leasesOf: () => ({ leases: [], leases6: [] }) };
  };

  it('looks at the links only when a running record with one of its MACs has a tap to confirm, and believes the tap only with its MAC', async () => {
    const asked: boolean[] = [];
    expect(await refuseIncoming(incoming, ctx(), hostWith(new Map(), asked))).toBeNull();
    writeRecord(other({ nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10', tap: 'vnet3' }] }));
    const reused = new Map([['vnet3', { name: 'vnet3', kind: 'tun', mac: 'fe:54:00:99:99:99', up: true, master: 'virbr10', addresses: [] }]]);
    expect(await refuseIncoming(incoming, ctx(), hostWith(reused, asked))).toBeNull();
    const its = new Map([['vnet3', { ...reused.get('vnet3')!, mac: 'fe:54:00:aa:bb:01' }]]);
    expect(await refuseIncoming(incoming, ctx(), hostWith(its, asked))).toContain('MAC 52:54:00:aa:bb:01 is in use by VM "other" running here');
    expect(asked).toEqual([false, true, true]);
  });

  it('the links cannot be listed: refused, one line naming why', async () => {
    writeRecord(other({ nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10', tap: 'vnet3' }] }));
    const broken = async (): Promise<HostNow> => {
      throw new Error('ip: command not found');
    };
    expect(await refuseIncoming(incoming, ctx(), broken)).toBe(
      'incoming migration of VM "vm1" refused: cannot see this host\'s interfaces to check for a VM running with its MACs: ip: command not found',
    );
  });
});

describe('release after a migration (source)', () => {
  const release = (extra: string) => runHook('qemu', ['lv-vm1', 'release', 'end', extra], opts(fixture('qemu-bridge-release')));
  const recorded = (): DomainRecord =>
    ({
      vm: 'lv-vm1',
      nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10', tap: 'vnet0' }],
      metadataLeases: [{ ip: '192.168.100.10' }],
      metadataForwards: [{ port: '2222', toPort: '22' }],
      running: true,
      updated: '2025-01-01T00:00:00.000Z',
    }) as DomainRecord;

  it('`release end migrated`: the record says migrated, holds no metadata here, and the network forgets its leases', async () => {
    writeRecord(recorded());
    expect(await release('migrated')).toBe(0);
    const rec = domainRecord(JSON.parse(readFileSync(recordFile('lv-vm1'), 'utf8')));
    expect(rec).toMatchObject({ vm: 'lv-vm1', running: false, nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10' }], metadataLeases: [] });
    expect(rec.migratedAt).toMatch(/^\d{4}-/);
    expect(rec.metadataForwards).toBeUndefined();
    expect(engine.calls).toEqual([{ fn: 'up', opts: expect.objectContaining({ ifApplied: ['natnet'], forgetLeasesOf: ['52:54:00:aa:bb:01'] }) }]);
    expect(lastLog()).toMatchObject({ event: 'lv-vm1 release end migrated', action: 'recorded migration away', exit: 0 });
  });

  it('with the XML a real libvirtd passed to the source’s release after a migration', async () => {
    writeRecord({ ...recorded(), vm: 'vm1', nics: [{ mac: '52:54:00:e3:e0:01', bridge: 'virbr10' }] });
    expect(await runHook('qemu', ['vm1', 'release', 'end', 'migrated'], opts(fixture('qemu-migrated-release')))).toBe(0);
    expect(JSON.parse(readFileSync(recordFile('vm1'), 'utf8'))).toMatchObject({ running: false, metadataLeases: [], migratedAt: expect.any(String) });
    expect(engine.calls[0].opts.forgetLeasesOf).toEqual(['52:54:00:e3:e0:01']);
  });

  it('`release end -` and other reasons stay a plain stop', async () => {
    writeRecord(recorded());
    expect(await release('destroyed')).toBe(0);
    const rec = JSON.parse(readFileSync(recordFile('lv-vm1'), 'utf8'));
    expect(rec.migratedAt).toBeUndefined();
    expect(rec.metadataLeases).toEqual([{ ip: '192.168.100.10' }]);
    expect(engine.calls).toEqual([]);
  });

  it('the fast path leaves a migrated release to the full path', () => {
    expect(qemuDomainEvent('release', [], 'migrated')).toBeNull();
    expect(qemuDomainEvent('release', [], '-')).toEqual({ kind: 'stopped' });
    expect(qemuDomainEvent('stopped', [], '-')).toEqual({ kind: 'stopped' });
  });

  it('running here again (start, or a port) clears the migration mark', () => {
    const away = applyDomainEvent(recorded(), { kind: 'migrated' }, new Date('2025-02-01T00:00:00Z'));
    expect(away.migratedAt).toBe('2025-02-01T00:00:00.000Z');
    expect(applyDomainEvent(away, { kind: 'running', interfaces: [] }, new Date()).migratedAt).toBeUndefined();
    expect(applyDomainEvent(away, { kind: 'port', vm: 'lv-vm1', uuid: null, mac: '52:54:00:aa:bb:01', bridge: 'virbr10' }, new Date()).migratedAt).toBeUndefined();
  });

  it('a record with a malformed migratedAt is bad (state read back is input)', () => {
    expect(() => domainRecord({ ...recorded(), migratedAt: '../../etc' })).toThrow(/migratedAt/);
  });
});

describe('leaseFileWithout (pure)', () => {
  const gone = (macs: string[], ip6: string[] = []) => ({ macs: new Set(macs), ip6: new Set(ip6) });
  it('drops exactly the lines of those MACs and keeps every other line as written', () => {
    const text = '1700000000 52:54:00:AA:BB:01 192.168.100.10 vm1 01:52:54:00:aa:bb:01\n1700000000 52:54:00:aa:bb:02 192.168.100.11 vm2 *\ngarbage line\nduid 00:01:00:01\n';
    const out = leaseFileWithout(text, gone(['52:54:00:aa:bb:01']));
    expect(out.dropped).toEqual([{ mac: '52:54:00:aa:bb:01', ip: '192.168.100.10' }]);
    expect(out.text).toBe('1700000000 52:54:00:aa:bb:02 192.168.100.11 vm2 *\ngarbage line\nduid 00:01:00:01\n');
  });

  it('DHCPv6 leases too: by the MAC in the client DUID, or by the VM’s reserved ip6; the server duid line and others stay', () => {
    const text = [
      '1700000000 52:54:00:aa:bb:01 192.168.100.10 vm1 *',
      'duid 00:01:00:01:32:a0:f8:e3:52:54:00:7e:27:af',
      '1700000000 11188993 fd00:1:2:3::10 vm1 00:01:00:01:32:a0:f8:e5:52:54:00:aa:bb:01',
      '1700000000 7 fd00:1:2:3::11 vm1 00:02:00:00:ab:11:01:02',
      '1700000000 8 fd00:1:2:3::12 vm2 00:03:00:01:52:54:00:aa:bb:02',
      // a v4-looking line after the duid line is not a lease: kept, never guessed at
      '1700000000 52:54:00:aa:bb:01 192.168.100.13 vm1 *',
      '',
    ].join('\n');
    const out = leaseFileWithout(text, gone(['52:54:00:aa:bb:01'], ['fd00:1:2:3::11']));
    expect(out.dropped).toEqual([
      { mac: '52:54:00:aa:bb:01', ip: '192.168.100.10' },
      { mac: '52:54:00:aa:bb:01', ip: 'fd00:1:2:3::10' },
      { mac: null, ip: 'fd00:1:2:3::11' },
    ]);
    expect(out.text).toBe(
      'duid 00:01:00:01:32:a0:f8:e3:52:54:00:7e:27:af\n1700000000 8 fd00:1:2:3::12 vm2 00:03:00:01:52:54:00:aa:bb:02\n1700000000 52:54:00:aa:bb:01 192.168.100.13 vm1 *\n',
    );
  });

  it('nothing of theirs: the text itself, untouched', () => {
    const text = '1700000000 52:54:00:aa:bb:02 192.168.100.11 vm2 *\r\n';
    expect(leaseFileWithout(text, gone(['52:54:00:aa:bb:01']))).toEqual({ text, dropped: [] });
  });
});

describe('departedFrom (pure)', () => {
  it('the MACs, and the served ip6 of the reservations those MACs hold (an interface identifier behind the prefix)', () => {
    const net = { name: 'natnet', bridge: 'virbr10', subnet: '192.168.100.0', prefix: 24, ipv6: { subnet: 'fd00:1:2:3::', prefix: 64, dhcpv6: 'stateful' } } as unknown as Network;
    const l = (vm: string, ip: string, ip6: string, macs: string[]): Lease => ({ vm, ip, ip6, macs, hostname: null, source: { file: 'config.toml', field: '' } });
    const migrated: DomainRecord = { vm: 'vm1', nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10' }], metadataLeases: [], running: false, updated: '' };
    const d = departedFrom(net, { leases: [l('vm1', '192.168.100.10', '::10', []), l('vm2', '192.168.100.11', 'fd00:1:2:3::11', ['52:54:00:aa:bb:02'])], domains: [migrated] }, ['52:54:00:aa:bb:01']);
    expect(d).toEqual({ macs: new Set(['52:54:00:aa:bb:01']), ip6: new Set(['fd00:1:2:3::10']) });
  });
});

describe('forgetLeases (no dnsmasq running)', () => {
  const ctx = () => makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger(), env: {} });
  const leaseFile = () => join(dir, 'state/lib/natnet.leases');
  const forget = async (macs: string[]) => {
    const out = await forgetLeases(ctx(), { name: 'natnet' }, { macs: new Set(macs), ip6: new Set() });
    expect(out.stopped).toBe(false);
    return out.actions;
  };

  it('rewrites the lease file without those MACs, keeping its mode; nothing to do leaves it untouched', async () => {
    mkdirSync(join(dir, 'state/lib'), { recursive: true });
    writeFileSync(leaseFile(), '1900000000 52:54:00:aa:bb:01 192.168.100.10 vm1 *\n1900000000 52:54:00:aa:bb:02 192.168.100.11 vm2 *\n', { mode: 0o640 });
    expect(await forget(['52:54:00:aa:bb:01'])).toEqual(['forget dnsmasq lease 192.168.100.10 of 52:54:00:aa:bb:01 (its VM left this host)']);
    expect(readFileSync(leaseFile(), 'utf8')).toBe('1900000000 52:54:00:aa:bb:02 192.168.100.11 vm2 *\n');
    expect(statSync(leaseFile()).mode & 0o777).toBe(0o640);
    const before = statSync(leaseFile()).ino;
    expect(await forget(['52:54:00:aa:bb:01'])).toEqual([]);
    expect(statSync(leaseFile()).ino).toBe(before);
  });

  it('no lease file, or a symlink in its place: nothing read, nothing written', async () => {
    expect(await forget(['52:54:00:aa:bb:01'])).toEqual([]);
    mkdirSync(join(dir, 'state/lib'), { recursive: true });
    writeFileSync(join(dir, 'elsewhere'), '1900000000 52:54:00:aa:bb:01 192.168.100.10 vm1 *\n');
    symlinkSync(join(dir, 'elsewhere'), leaseFile());
    expect(await forget(['52:54:00:aa:bb:01'])).toEqual([]);
    expect(lstatSync(leaseFile()).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'elsewhere'), 'utf8')).toContain('52:54:00:aa:bb:01');
  });

  it('a FIFO in place of the lease file: no hang, nothing written', async () => {
    mkdirSync(join(dir, 'state/lib'), { recursive: true });
    execFileSync('mkfifo', [leaseFile()]);
    expect(await forget(['52:54:00:aa:bb:01'])).toEqual([]);
    expect(lstatSync(leaseFile()).isFIFO()).toBe(true);
  });
});

describe('up with forgetLeasesOf', () => {
  it('a network that is down (not applied): its lease file still forgets the MACs, and nothing is brought up', async () => {
    const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger(), env: {} });
    mkdirSync(join(dir, 'state/lib'), { recursive: true });
    writeFileSync(join(dir, 'state/lib/natnet.leases'), '1900000000 52:54:00:aa:bb:01 192.168.100.10 vm1 *\n');
    const changes = await up(ctx, { ifApplied: ['natnet', 'not-configured'], forgetLeasesOf: ['52:54:00:aa:bb:01'] });
    expect(changes).toEqual([{ network: 'natnet', actions: ['forget dnsmasq lease 192.168.100.10 of 52:54:00:aa:bb:01 (its VM left this host)'] }]);
    expect(readFileSync(join(dir, 'state/lib/natnet.leases'), 'utf8')).toBe('');
  });

  it('only the networks named: another configured network with that MAC in its lease file is not touched', async () => {
    writeFileSync(join(dir, 'config.toml'), `${CONFIG}\n[[network]]\nname = "other"\nbridge = "virbr11"\naddress = "192.168.101.1/24"\nmac = "52:54:00:12:34:56"\n`);
    const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger(), env: {} });
    mkdirSync(join(dir, 'state/lib'), { recursive: true });
    const theirs = '1900000000 52:54:00:aa:bb:01 192.168.101.10 vm1 *\n';
    writeFileSync(join(dir, 'state/lib/other.leases'), theirs);
    writeFileSync(join(dir, 'state/lib/natnet.leases'), '1900000000 52:54:00:aa:bb:01 192.168.100.10 vm1 *\n');
    const changes = await up(ctx, { ifApplied: ['natnet'], forgetLeasesOf: ['52:54:00:aa:bb:01'] });
    expect(changes.map((c) => c.network)).toEqual(['natnet']);
    expect(readFileSync(join(dir, 'state/lib/other.leases'), 'utf8')).toBe(theirs);
  });
});
