import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { duplicates, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });
const N = 20;
const mac = (i: number) => `52:54:00:cc:00:${i.toString(16).padStart(2, '0')}`;

describe.skipIf(!req.ok)(`${N} concurrent up + lease add runs end consistent${req.reason}`, () => {
  let lab: Lab;
  let healthy: Awaited<ReturnType<Lab['snapshot']>>;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml({ firewall: 'iptables' }));
    await lab.mustCli(['up']);
    healthy = await lab.snapshot();
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('every run succeeds; no duplicate rule, all leases present, hostsfile intact, one dnsmasq', async () => {
    const runs = [];
    for (let i = 1; i <= N; i++) {
      runs.push(lab.cli(['up']));
      runs.push(lab.cli(['lease', 'add', `vm${i}`, `192.168.100.${20 + i}`, '--mac', mac(i), '--hostname', `vm${i}`]));
    }
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.all).toBe(0);

    const after = await lab.snapshot();
    expect(after).toEqual(healthy);
    expect(duplicates(after.iptables.split('\n').filter((l) => l.startsWith('-A ')))).toEqual([]);
    expect(await lab.dnsmasqPids()).toHaveLength(1);

    const files = readdirSync(lab.leasesDir);
    expect(files.sort()).toEqual(Array.from({ length: N }, (_, i) => `vm${i + 1}.toml`).sort());

    const list = await lab.cli(['lease', 'list', '--json']);
    expect(list.code, list.all).toBe(0);
    for (let i = 1; i <= N; i++) expect(list.stdout).toContain(`192.168.100.${20 + i}`);

    // The hostsfile dnsmasq reads: the one state file that names every reserved MAC.
    const state = lab.stateFiles() ?? {};
    const hosts = Object.entries(state).filter(([, text]) => text.includes(mac(1)) && text.includes(mac(N)));
    expect(hosts.length, Object.keys(state).join(', ')).toBeGreaterThan(0);
    for (const [file, text] of hosts) {
      const lines = text.split('\n').filter((l) => l.includes('52:54:00:cc:00:'));
      expect(lines, file).toHaveLength(N);
      for (let i = 1; i <= N; i++) {
        expect(lines.filter((l) => l.includes(mac(i)) && l.includes(`192.168.100.${20 + i}`)), `${file}: vm${i}`).toHaveLength(1);
      }
    }
    const hostsfile = hosts.map(([f]) => join(lab.stateDir, f)).find((f) => !f.endsWith('.json'));
    expect(hostsfile, 'a hostsfile').toBeDefined();
    expect(readFileSync(hostsfile!, 'utf8').endsWith('\n')).toBe(true);
    // dnsmasq re-reads it as nobody after SIGHUP: 0600 would silently drop every reservation.
    expect((statSync(hostsfile!).mode & 0o777).toString(8)).toBe('644');
    expect(Object.keys(state).filter((f) => /\.tmp|~$/.test(f)), 'no temp files left').toEqual([]);
  });
});
