import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeFingerprint, configInputs, networkAlive, prepareUnchanged, writeFingerprint, xmlDigest } from '../../src/hook/prepare-fingerprint.js';

const FIX = join(import.meta.dirname, '../fixtures/libvirt');
const prepareXml = readFileSync(join(FIX, 'qemu-bridge-prepare.xml'), 'utf8');
let dir: string;
let p: { runDir: string; libDir: string; configPath: string; leasesDir: string };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nn-fp-unit-'));
  p = { runDir: join(dir, 'run'), libDir: join(dir, 'lib'), configPath: join(dir, 'config.toml'), leasesDir: join(dir, 'leases.d') };
  writeFileSync(p.configPath, '');
  mkdirSync(join(p.runDir, 'applied'), { recursive: true });
  writeFileSync(join(p.runDir, 'applied/natnet.json'), '{}');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('prepare fingerprint (skip the engine for an unchanged VM)', () => {
  it('ignores only the run-time id libvirt bumps on every start', () => {
    expect(xmlDigest(prepareXml)).toBe(xmlDigest(prepareXml.replace("id='1'", "id='42'")));
    expect(xmlDigest(prepareXml)).not.toBe(xmlDigest(prepareXml.replace('52:54:00:aa:bb:01', '52:54:00:aa:bb:02')));
  });

  it('changes with the config, any leases.d file, or the applied record', () => {
    const base = JSON.stringify(computeFingerprint(p, prepareXml, ['natnet']));
    const again = () => JSON.stringify(computeFingerprint(p, prepareXml, ['natnet']));
    expect(again()).toBe(base);
    writeFileSync(p.configPath, '# edited\n');
    const afterConfig = again();
    expect(afterConfig).not.toBe(base);
    mkdirSync(p.leasesDir);
    writeFileSync(join(p.leasesDir, 'vm.toml'), 'vm = "vm"\nip = "192.168.100.9"\n');
    const afterLease = again();
    expect(afterLease).not.toBe(afterConfig);
    // the hostsfile at its layout path (never a path read from the applied record)
    mkdirSync(join(p.runDir, 'dnsmasq'));
    writeFileSync(join(p.runDir, 'dnsmasq/natnet.hosts'), '');
    writeFileSync(join(p.runDir, 'applied/natnet.json'), JSON.stringify({ dnsmasq: { hosts: join(dir, 'elsewhere.hosts') } }));
    const afterApplied = again();
    expect(afterApplied).not.toBe(afterLease);
    writeFileSync(join(p.runDir, 'dnsmasq/natnet.hosts'), '52:54:00:00:00:09,id:*,192.168.100.9,other\n'); // another VM's reservation
    expect(again()).not.toBe(afterApplied);
  });

  it('records the config keys taken before up, not those at write time', () => {
    const before = configInputs(p);
    writeFileSync(p.configPath, '# edited while up ran\n');
    writeFingerprint(p, 'lv-vm1', prepareXml, ['natnet'], before);
    const stored = JSON.parse(readFileSync(join(p.runDir, 'hook-prepared/lv-vm1.json'), 'utf8'));
    expect(stored.config).toBe(before.config);
    expect(stored).not.toEqual(computeFingerprint(p, prepareXml, ['natnet']));
  });

  it('never skips when the network is not verifiably alive (no bridge, no live dnsmasq)', () => {
    writeFingerprint(p, 'lv-vm1', prepareXml, ['natnet'], configInputs(p));
    expect(readdirSync(join(p.runDir, 'hook-prepared'))).toEqual(['lv-vm1.json']); // written atomically, no temp left
    expect(networkAlive(p, 'natnet')).toBe(false);
    expect(prepareUnchanged(p, 'lv-vm1', prepareXml, ['natnet'])).toBe(false);
    // a live process that is not dnsmasq does not count either
    writeFileSync(join(dir, 'pid'), String(process.pid));
    writeFileSync(join(p.runDir, 'applied/natnet.json'), JSON.stringify({ network: { bridge: 'lo' }, dnsmasq: { pid: join(dir, 'pid') } }));
    expect(networkAlive(p, 'natnet')).toBe(false);
    expect(prepareUnchanged(p, 'lv-vm1', prepareXml, [])).toBe(false);
  });
});
