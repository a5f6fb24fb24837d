import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runForget } from '../../src/commands/forget.js';
import { loadConfig } from '../../src/config/load.js';
import { makeContext } from '../../src/engine/context.js';
import { readDomainRecord, writeDomainRecord } from '../../src/engine/domains.js';
import { silentLogger } from '../../src/log.js';
import type { Runner } from '../../src/sys/runner.js';

describe('forget VM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natnet-forget-'));
  writeFileSync(join(dir, 'config.toml'), '');
  const calls: string[][] = [];
  const runner: Runner = {
    dryRun: false,
    planned: [],
    run: async (argv) => {
      calls.push(argv);
      return { argv, code: 0, stdout: '', stderr: '', ms: 0 };
    },
  };
  const ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger(), runner });

  it('drops the record and its metadata lease; a network that is not up stays untouched', async () => {
    writeDomainRecord(ctx, {
      vm: 'old vm',
      nics: [{ mac: '52:54:00:00:00:07', bridge: 'virbr10' }],
      metadataLeases: [{ ip: '192.168.100.7' }],
      running: false,
      updated: '',
    });
    expect(loadConfig(ctx).leases.map((l) => l.ip)).toEqual(['192.168.100.7']);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await runForget(ctx, 'old vm');
    out.mockRestore();
    expect(readDomainRecord(ctx, 'old vm')).toBeNull();
    expect(loadConfig(ctx).leases).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('an unknown VM is a usage error naming it', async () => {
    await expect(runForget(ctx, 'nobody')).rejects.toThrow(/no record of VM "nobody"/);
  });
});
