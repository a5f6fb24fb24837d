import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { type Context, makeContext } from '../../src/engine/context.js';
import { readDomainRecord, writeDomainRecord } from '../../src/engine/domains.js';
import { ConfigError } from '../../src/errors.js';
import { applyDomainEvent, buildDomainRecord } from '../../src/hook/domain-record.js';
import { parseDomainXml } from '../../src/libvirt/domain.js';
import { NATNET_XMLNS } from '../../src/libvirt/metadata.js';
import { silentLogger } from '../../src/log.js';
import { reservationsFor } from '../../src/plan/reservations.js';
import { renderHostsfile } from '../../src/render/dnsmasq.js';

/**
 * The hook's DomainRecord meeting the engine's lease merge: leases.d / [[lease]] win over a
 * domain's <metadata>, disagreement is an error naming both, and nothing hostile reaches
 * dnsmasq's hostsfile.
 */
const FIX = join(import.meta.dirname, '../fixtures/libvirt');
let dir: string;
let ctx: Context;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nn-leases-unit-'));
  writeFileSync(join(dir, 'config.toml'), '');
  ctx = makeContext({ config: join(dir, 'config.toml'), stateDir: join(dir, 'state'), log: silentLogger(), env: {} });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function recordOf(xml: string) {
  const info = parseDomainXml(xml);
  const now = new Date('2026-01-01T00:00:00Z');
  const rec = buildDomainRecord(info, { libvirtNetworks: {}, previous: null, ours: new Set(['virbr10']), now });
  return applyDomainEvent(rec, { kind: 'running', interfaces: info.interfaces }, now);
}

function vmXml(name: string, meta: string, macs = ['52:54:00:00:00:01']) {
  const nics = macs.map((m) => `<interface type='bridge'><mac address='${m}'/><source bridge='virbr10'/></interface>`).join('');
  return `<domain type='qemu'><name>${name}</name><metadata>${meta}</metadata><devices>${nics}</devices></domain>`;
}

const hosts = (domain = recordOf(readFileSync(join(FIX, 'qemu-multi-prepare.xml'), 'utf8'))) => {
  const cfg = loadConfig(ctx, { domain });
  const net = cfg.networks[0];
  return renderHostsfile(reservationsFor(net, cfg.leases, cfg.domains).reservations);
};

describe('leases from the domain metadata, merged by the engine', () => {
  it('one reservation per MAC for a VM with several NICs on the bridge', () => {
    expect(hosts()).toBe('52:54:00:aa:bb:11,id:*,192.168.100.21,web1\n52:54:00:aa:bb:12,id:*,192.168.100.22,web2\n');
  });

  it('a leases.d file wins; metadata saying the same is fine, saying something else is refused naming both', () => {
    mkdirSync(join(dir, 'leases.d'));
    writeFileSync(join(dir, 'leases.d/vm1.toml'), 'vm = "vm1"\nip = "192.168.100.40"\n');
    const same = recordOf(vmXml('vm1', `<n:lease xmlns:n="${NATNET_XMLNS}" ip="192.168.100.40"/>`));
    expect(hosts(same)).toBe('52:54:00:00:00:01,id:*,192.168.100.40,vm1\n');
    const other = recordOf(vmXml('vm1', `<n:lease xmlns:n="${NATNET_XMLNS}" ip="192.168.100.41"/>`));
    expect(() => loadConfig(ctx, { domain: other })).toThrow(ConfigError);
    expect(() => loadConfig(ctx, { domain: other })).toThrow(/domain "vm1" <metadata>.*192\.168\.100\.41.*192\.168\.100\.40.*leases\.d\/vm1\.toml/);
  });

  it('an address another VM holds by [[lease]] is refused', () => {
    writeFileSync(join(dir, 'config.toml'), '[[lease]]\nvm = "db"\nip = "192.168.100.50"\nmac = "52:54:00:00:00:50"\n');
    const rec = recordOf(vmXml('vm2', `<n:lease xmlns:n="${NATNET_XMLNS}" ip="192.168.100.50"/>`));
    expect(() => loadConfig(ctx, { domain: rec })).toThrow(/192\.168\.100\.50.*vm "db"/);
  });

  it('a VM without any lease gets no reservation (a pool address)', () => {
    expect(hosts(recordOf(vmXml('plain', '')))).toBe('');
  });

  it('hostile VM names: stored safely, and the hostsfile gets a clean label or none', () => {
    const names = [`web "q" 'x' ü`, `${'n'.repeat(210)}`, 'a,b', '..', 'ünï cödé'];
    names.forEach((name, i) => {
      const mac = `52:54:00:00:01:0${i}`;
      const esc = name.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
      const rec = recordOf(vmXml(esc, `<n:lease xmlns:n="${NATNET_XMLNS}" ip="192.168.100.${60 + i}"/>`, [mac]));
      expect(rec.vm).toBe(name);
      writeDomainRecord(ctx, rec);
      expect(readDomainRecord(ctx, name)?.vm).toBe(name);
    });
    const cfg = loadConfig(ctx);
    const text = renderHostsfile(reservationsFor(cfg.networks[0], cfg.leases, cfg.domains).reservations);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(names.length);
    for (const line of lines) expect(line).toMatch(/^52:54:00:00:01:0\d,id:\*,192\.168\.100\.6\d(,[a-z0-9-]{1,63})?$/);
  });
});
