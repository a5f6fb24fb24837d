import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { makeContext } from '../../src/engine/context.js';
import { describeBadDomains, readDomainRecord, readDomainRecords, writeDomainRecord } from '../../src/engine/domains.js';
import { describeBadApplied, quarantinedNetworks, readHostChanges, readRecord, readRecords, writeRecord } from '../../src/engine/records.js';
import type { Logger } from '../../src/log.js';
import type { AppliedRecord } from '../../src/model/applied.js';
import { appliedFile, domainFile, hostChangesFile, quarantineFile } from '../../src/state/layout.js';
import { domainRecord } from '../../src/state/schema.js';
import { describeQuarantined, quarantine, quarantinedIn, readRecord as readStateFile, recordNames } from '../../src/state/store.js';

const [net] = parseMainConfig('', new Problems('f')).networks;

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'natnet-state-'));
  writeFileSync(join(dir, 'config.toml'), '');
  const warnings: unknown[] = [];
  const nothing = () => {};
  const log: Logger = { debug: nothing, info: nothing, error: nothing, warn: (a: unknown) => void warnings.push(a) };
  const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log });
  return { dir, ctx, warnings };
}

const applied = (): AppliedRecord => ({
  network: net,
  links: { bridges: [{ name: 'virbr10', created: true, addresses: ['192.168.100.1/24'] }], dummies: [] },
  firewalls: [{ backend: 'nftables', iptablesVariant: null, bridge: 'virbr10' }],
  dnsmasq: true,
  dummyUnsupported: null,
  appliedAt: '2026-11-30T00:00:00.000Z',
});

describe('readRecord: absent, ok or bad, never a throw', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natnet-store-'));
  const read = (name: string) => readStateFile(join(dir, name), domainRecord);

  it('absent', () => expect(read('nope.json')).toEqual({ kind: 'absent' }));
  it.each([
    ['empty', '', 'empty'],
    ['truncated', '{"vm": "web", "ni', 'not valid JSON (truncated?)'],
    ['null', 'null', 'document: expected an object'],
    ['{}', '{}', '.nics: expected an array'],
  ])('%s', (name, text, why) => {
    writeFileSync(join(dir, `${name}.json`), text);
    const r = read(`${name}.json`);
    expect(r.kind).toBe('bad');
    if (r.kind === 'bad') expect(r.bad.why).toBe(why);
  });
  it('not UTF-8', () => {
    writeFileSync(join(dir, 'latin1.json'), Buffer.from([0x7b, 0xff, 0x7d]));
    expect(read('latin1.json')).toMatchObject({ kind: 'bad', bad: { why: 'not UTF-8' } });
  });
  it('a symlink, a directory and a FIFO are bad, without blocking', () => {
    symlinkSync('/etc/hostname', join(dir, 'link.json'));
    mkdirSync(join(dir, 'dir.json'));
    execFileSync('mkfifo', [join(dir, 'fifo.json')]);
    expect(read('link.json')).toMatchObject({ kind: 'bad', bad: { why: 'a symbolic link (state files never are)' } });
    expect(read('dir.json')).toMatchObject({ kind: 'bad' });
    expect(read('fifo.json')).toMatchObject({ kind: 'bad', bad: { why: 'not a regular file' } });
  });
});

describe('quarantine', () => {
  it('moves the bad file to *.bad; listed and described until removed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-q-'));
    const file = join(dir, 'web.json');
    writeFileSync(file, 'null');
    const r = readStateFile(file, domainRecord);
    if (r.kind !== 'bad') throw new Error('expected bad');
    expect(quarantine(r.bad)).toBe(true);
    expect(existsSync(file)).toBe(false);
    expect(quarantinedIn(dir)).toEqual([quarantineFile(file)]);
    expect(recordNames(dir)).toEqual([]);
    expect(describeQuarantined(dir, () => domainRecord)).toEqual([{ file: quarantineFile(file), why: 'document: expected an object' }]);
  });

  it('a record a writer replaced between the read and the rename is put back, not quarantined', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-q-'));
    const file = join(dir, 'web.json');
    writeFileSync(file, 'null');
    const r = readStateFile(file, domainRecord);
    if (r.kind !== 'bad') throw new Error('expected bad');
    // an atomic write by a hook, after our read
    writeFileSync(join(dir, '.new.tmp'), '{"good": true}');
    renameSync(join(dir, '.new.tmp'), file);
    expect(quarantine(r.bad)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('{"good": true}');
    expect(existsSync(quarantineFile(file))).toBe(false);
  });
});

describe('engine stores', () => {
  it('applied records: a bad one is logged, set aside, reported; the good ones are read', () => {
    const { ctx, warnings } = fixture();
    writeRecord(ctx, applied());
    writeFileSync(appliedFile(ctx, 'other'), '{}');
    expect(readRecords(ctx)).toEqual([applied()]);
    expect(warnings).toHaveLength(1);
    expect(existsSync(quarantineFile(appliedFile(ctx, 'other')))).toBe(true);
    expect(quarantinedNetworks(ctx)).toEqual(['other']);
    expect(describeBadApplied(ctx)).toEqual([{ file: quarantineFile(appliedFile(ctx, 'other')), why: '.network: expected an object' }]);
    expect(readRecord(ctx, 'other')).toBeNull();
  });

  it('a record copied under another network name is bad (it names another network)', () => {
    const { ctx } = fixture();
    writeRecord(ctx, applied());
    writeFileSync(appliedFile(ctx, 'copy'), readFileSync(appliedFile(ctx, 'natnet')));
    expect(readRecords(ctx).map((r) => r.network.name)).toEqual(['natnet']);
    expect(describeBadApplied(ctx)[0].why).toBe('.network.name: expected "copy"');
  });

  it('a bad host-changes record is set aside and claims nothing', () => {
    const { ctx } = fixture();
    mkdirSync(ctx.runDir, { recursive: true });
    writeFileSync(hostChangesFile(ctx), '{"enabledForwarding": "yes"}');
    expect(readHostChanges(ctx)).toBeNull();
    expect(describeBadApplied(ctx).map((b) => b.file)).toEqual([quarantineFile(hostChangesFile(ctx))]);
  });

  it('domain records: null, {} and a smuggled MAC are set aside; one naming another VM is bad too', () => {
    const { ctx, warnings } = fixture();
    writeDomainRecord(ctx, { vm: 'web', nics: [{ mac: '52:54:00:aa:bb:01', bridge: 'virbr10' }], metadataLeases: [], running: true, updated: '' });
    writeFileSync(domainFile(ctx, 'a'), 'null');
    writeFileSync(domainFile(ctx, 'b'), '{}');
    writeFileSync(
      domainFile(ctx, 'c'),
      JSON.stringify({ vm: 'c', nics: [{ mac: '52:54:00:aa:bb:01,id:*,192.168.100.9,evil\n', bridge: 'virbr10' }], metadataLeases: [], running: true, updated: '' }),
    );
    writeFileSync(domainFile(ctx, 'd'), JSON.stringify({ vm: 'web', nics: [], metadataLeases: [], running: true, updated: '' }));
    expect(readDomainRecords(ctx).map((d) => d.vm)).toEqual(['web']);
    expect(warnings).toHaveLength(4);
    expect(describeBadDomains(ctx).map((b) => b.why)).toEqual([
      'document: expected an object',
      '.nics: expected an array',
      '.nics[0].mac: expected a unicast MAC like 52:54:00:aa:bb:01',
      '.vm: expected the VM this file is named after (d.json)',
    ]);
    expect(readDomainRecord(ctx, 'web')?.vm).toBe('web');
    expect(readDomainRecord(ctx, 'a')).toBeNull();
  });

  it('a dry run reports a bad record but moves nothing', () => {
    const { dir, ctx: wet } = fixture();
    const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), dryRun: true, log: wet.log });
    mkdirSync(join(ctx.libDir, 'domains'), { recursive: true });
    writeFileSync(domainFile(ctx, 'a'), 'null');
    expect(readDomainRecords(ctx)).toEqual([]);
    expect(existsSync(domainFile(ctx, 'a'))).toBe(true);
  });
});
