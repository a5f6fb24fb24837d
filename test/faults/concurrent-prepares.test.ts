/**
 * Group commit (issue 7): many VMs start at once. 30 prepares of new VMs run concurrently
 * through the built hook, as libvirt runs it (XML on stdin, nothing on stdout); each must get
 * its reservation, and a VM whose own input is bad must fail alone with its one line — both
 * when the problem is found before the engine (an invalid metadata lease) and when it is found
 * by the engine run serving the whole group (a metadata lease that conflicts with the config).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsmasqPaths, engineLogFile, hooksLogFile, layoutOf, preparePendingDir } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS, leaseToml, networkToml } from '../helpers/lab-config.js';
import { exec, Lab, REPO } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';
import { inNs } from '../../src/selftest/exec.js';
import { spawnBackground } from '../../src/sys/spawn.js';

const req = needs({ root: true, bins: LAB_BINS });
const N = 30;
const HOOK = join(REPO, 'hooks', 'qemu');
const FIXTURE = readFileSync(join(REPO, 'test', 'fixtures', 'libvirt', 'qemu-bridge-prepare.xml'), 'utf8').replace(/\s*<uuid>[^<]*<\/uuid>/, '');
const mac = (i: number) => `52:54:00:ee:00:${i.toString(16).padStart(2, '0')}`;
const ip = (i: number) => `192.168.100.${10 + i}`;
/** The two rounds' VMs: gc0.. then gd0.. (i + N), each with a lease in the config. */
const vmName = (i: number) => (i < N ? `gc${i}` : `gd${i - N}`);

function domainXml(vm: string, nicMac: string, metadata = ''): string {
  return FIXTURE.replace('<name>lv-vm1</name>', `<name>${vm}</name>${metadata}`).replace('52:54:00:aa:bb:01', nicMac);
}
const natnetLease = (attrs: string) => `<metadata><natnet:lease xmlns:natnet="https://natnet-hook.dev/xmlns/1" ${attrs}/></metadata>`;

describe.skipIf(!req.ok)(`${N} concurrent prepares of new VMs (group commit)${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    const leases = Array.from({ length: 2 * N }, (_, i) => leaseToml({ vm: vmName(i), ip: ip(i) }));
    lab.writeConfig([networkToml({ firewall: 'iptables' }), ...leases].join('\n'));
    await lab.mustCli(['up']);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('all succeed with their reservation; the bad VMs among them fail alone, each with its one line', async () => {
    const env = { NATNET_HOOK_CONFIG: lab.configPath, NATNET_HOOK_STATE_DIR: lab.stateDir };
    const prepare = (vm: string, xml: string) => exec(inNs(lab.router, [process.execPath, HOOK, vm, 'prepare', 'begin', '-']), { env, input: xml });
    const good = Array.from({ length: N }, (_, i) => prepare(`gc${i}`, domainXml(`gc${i}`, mac(i))));
    const invalid = prepare('badmeta', domainXml('badmeta', mac(200), natnetLease('ip="192.168.100.300"')));
    // the address the config reserves for gc0: found only by the engine run
    const conflicting = prepare('badconf', domainXml('badconf', mac(201), natnetLease(`ip="${ip(0)}"`)));
    const results = await Promise.all(good);
    const [bad1, bad2] = await Promise.all([invalid, conflicting]);

    for (const [i, r] of results.entries()) {
      expect(r.code, `gc${i}: ${r.stderr}`).toBe(0);
      expect(r.stdout, 'a hook never writes to stdout').toBe('');
      expect(r.stderr).toBe('');
    }
    for (const [r, vm, why] of [
      [bad1, 'badmeta', /^natnet-hook: VM "badmeta": its <metadata> natnet lease is invalid: /],
      [bad2, 'badconf', /^natnet-hook: VM "badconf" not started: .*192\.168\.100\.10/],
    ] as const) {
      expect(r.code, `${vm}: ${r.stderr}`).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter(Boolean), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).not.toContain('    at ');
    }

    const layout = layoutOf({ config: lab.configPath, stateDir: lab.stateDir });
    const hostsFile = dnsmasqPaths(layout, 'natnet').hosts;
    const hosts = readFileSync(hostsFile, 'utf8').split('\n');
    for (let i = 0; i < N; i++) expect(hosts.filter((l) => l.includes(mac(i)) && l.includes(ip(i))), `gc${i} in ${hostsFile}`).toHaveLength(1);
    expect(hosts.filter((l) => l.includes(mac(200)) || l.includes(mac(201)))).toEqual([]);
    expect(await lab.dnsmasqPids()).toHaveLength(1);

    // every request answered and every answer read: nothing left behind
    const left = Object.keys(lab.stateFiles() ?? {}).filter((f) => /prepare-(pending|results)\//.test(f));
    expect(left).toEqual([]);

    // a repeated prepare of an unchanged VM is settled by its fingerprint, as before group commit
    // (once no later group has rewritten the hostsfile its fingerprint keys on: hence twice)
    for (let k = 0; k < 2; k++) {
      const again = await prepare('gc1', domainXml('gc1', mac(1)));
      expect(again.code, again.stderr).toBe(0);
    }
    const log = readFileSync(hooksLogFile(layout), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ vm: 'gc1', action: expect.stringContaining('unchanged since the last prepare') });
  });

  it('a group gathered behind a held lock is applied by ONE leader; a conflicting VM in it fails alone (per-VM retry)', async () => {
    const layout = layoutOf({ config: lab.configPath, stateDir: lab.stateDir });
    const env = { NATNET_HOOK_CONFIG: lab.configPath, NATNET_HOOK_STATE_DIR: lab.stateDir };
    // the product's own lock, held by a process in the lab namespace until its stdin closes
    const holdScript = `const m = await import(${JSON.stringify(`${REPO}/dist/state/lock.js`)});
      const h = await m.tryLock(${JSON.stringify(layout.runDir)}); process.stdout.write(h ? 'held\\n' : 'busy\\n');
      process.stdin.on('end', () => h?.release()); process.stdin.resume();`;
    const holder = await spawnBackground(inNs(lab.router, [process.execPath, '--input-type=module', '-e', holdScript]), { pipes: true });
    holder.child.stderr?.pipe(process.stderr, { end: false });
    try {
      expect(await new Promise((res) => holder.child.stdout?.once('data', (b) => res(String(b).trim())))).toBe('held');
      const prepare = (vm: string, xml: string) => exec(inNs(lab.router, [process.execPath, HOOK, vm, 'prepare', 'begin', '-']), { env, input: xml });
      const good = Array.from({ length: N }, (_, k) => prepare(vmName(N + k), domainXml(vmName(N + k), mac(N + k))));
      const conflicting = prepare('badconf2', domainXml('badconf2', mac(202), natnetLease(`ip="${ip(N)}"`)));
      const pending = () => readdirSync(preparePendingDir(layout)).filter((f) => f.endsWith('.json')).length;
      for (let t = 0; t < 600 && pending() < N + 1; t++) await new Promise((r) => setTimeout(r, 50));
      expect(pending()).toBe(N + 1);
      await new Promise((r) => setTimeout(r, 2500)); // past the 2 s after which a waiter notes who holds the lock
      holder.child.stdin?.end();
      const results = await Promise.all(good);
      const bad = await conflicting;
      for (const [k, r] of results.entries()) expect(r.code, `${vmName(N + k)}: ${r.stderr}`).toBe(0);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^natnet-hook: VM "badconf2" not started: .*192\.168\.100\.40[^\n]*\n$/);

      const log = readFileSync(hooksLogFile(layout), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const round = log.filter((l) => /^gd\d+$|^badconf2$/.test(l.vm));
      expect(round).toHaveLength(N + 1);
      // one leader served all of them
      expect(new Set(round.map((l) => /group commit of (\d+)/.exec(l.action)?.[1]))).toEqual(new Set([String(N + 1)]));
      expect(readFileSync(engineLogFile(layout), 'utf8')).toContain('each VM on its own');
      // who held the lock is in the waiters' log records (never on their stderr: checked above)
      expect(round.filter((l) => l.action.includes(`waited over 2 s for the lock held by pid ${holder.pid} (node)`)).length).toBeGreaterThanOrEqual(N - 1);
      for (const r of results) expect(r.stderr).toBe('');
      const hosts = readFileSync(dnsmasqPaths(layout, 'natnet').hosts, 'utf8').split('\n');
      for (let k = 0; k < N; k++) expect(hosts.filter((l) => l.includes(mac(N + k)) && l.includes(ip(N + k)))).toHaveLength(1);
    } finally {
      holder.child.kill('SIGKILL');
    }
  });
});
