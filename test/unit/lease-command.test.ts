import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runLeaseAdd, runLeaseRm } from '../../src/commands/lease.js';
import { makeContext } from '../../src/engine/context.js';
import { silentLogger } from '../../src/log.js';

// No network is applied here, so nothing is run: these are the file rules of `lease add/rm`.
describe('lease add / rm and the files in leases.d', () => {
  let dir: string;
  let ctx: ReturnType<typeof makeContext>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'natnet-lease-'));
    writeFileSync(join(dir, 'config.toml'), '');
    mkdirSync(join(dir, 'leases.d'));
    ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger() });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());
  const files = () => readdirSync(join(dir, 'leases.d')).sort();

  it('writes an encoded file name for any VM name, with the name intact inside', async () => {
    await runLeaseAdd(ctx, 'my "odd" vm.1', '192.168.100.10', { mac: ['52:54:00:AA:BB:01'] });
    expect(files()).toEqual(['my%20%22odd%22%20vm%2E1.toml']);
    expect(readFileSync(join(dir, 'leases.d', files()[0]), 'utf8')).toContain('vm = "my \\"odd\\" vm.1"');
  });

  it("replaces a hand-written <vm>.toml instead of adding a second file", async () => {
    writeFileSync(join(dir, 'leases.d', 'web.toml'), 'vm = "web"\nip = "192.168.100.10"\n');
    await runLeaseAdd(ctx, 'web', '192.168.100.11', {});
    expect(files()).toEqual(['web.toml']);
    expect(readFileSync(join(dir, 'leases.d', 'web.toml'), 'utf8')).toContain('192.168.100.11');
  });

  it('a VM reserved in a file of another name: add names both, rm finds it', async () => {
    writeFileSync(join(dir, 'leases.d', 'custom.toml'), 'vm = "db"\nip = "192.168.100.12"\n');
    await expect(runLeaseAdd(ctx, 'db', '192.168.100.13', {})).rejects.toThrow(/custom\.toml/);
    expect(files()).toEqual(['custom.toml']);
    await runLeaseRm(ctx, 'db');
    expect(files()).toEqual([]);
  });

  it('a bad --ip6 is one line and writes nothing; so is an ip6 on a network without DHCPv6', async () => {
    await expect(runLeaseAdd(ctx, 'x', '192.168.100.10', { ip6: 'fd00::zz' })).rejects.toThrow(
      /^command line: ip6 = "fd00::zz": expected an IPv6 address like fd00:1:2:3::10 \(no prefix length, no brackets\)$/,
    );
    await expect(runLeaseAdd(ctx, 'x', '192.168.100.10', { ip6: 'fd00::10' })).rejects.toThrow(
      /^\S+leases\.d\/x\.toml: ip6 = "fd00::10": ip6 needs ipv6 and dhcpv6 = "stateful" on network natnet$/,
    );
    expect(files()).toEqual([]);
    expect(existsSync(join(dir, 'state'))).toBe(false);
  });

  it('an invalid lease writes nothing', async () => {
    await expect(runLeaseAdd(ctx, 'x', '192.168.100.200', {})).rejects.toThrow(/outside the dynamic pool/);
    expect(files()).toEqual([]);
    expect(existsSync(join(dir, 'state'))).toBe(false);
  });
});
