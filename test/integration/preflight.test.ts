import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../../src/observe/tools.js';
import { inNs } from '../../src/selftest/exec.js';
import { layoutOf, libvirtNetworksFile } from '../../src/state/layout.js';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { BIN, exec, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: [...LAB_BINS, 'setpriv'] });
const NOBODY = 65534;

/** Checked before the first step: a failing `up` leaves the host exactly as it found it. */
describe.skipIf(!req.ok)(`preflight: up refuses before touching anything${req.reason}`, () => {
  let lab: Lab;
  const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('natnet-hook:'));
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(networkToml());
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('another interface holding an address in the subnet: one line naming it, exit 3, nothing applied', async () => {
    await lab.mustRun(['ip', 'link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'other1']);
    await lab.mustRun(['ip', 'addr', 'add', '192.168.100.1/24', 'dev', 'other0']);
    try {
      const before = await lab.hostState();
      const r = await lab.cli(['up']);
      expect(r.code, r.all).toBe(3);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/other0 already has 192\.168\.100\.1\/24, which overlaps 192\.168\.100\.0\/24; remove that address/)]);
      expect(r.stderr).not.toContain('    at ');
      expect(await lab.hostState()).toEqual(before);
      const plan = await lab.cli(['plan']);
      expect(plan.code).toBe(3);
      expect(plan.all).toContain('other0 already has 192.168.100.1/24');
    } finally {
      await lab.mustRun(['ip', 'link', 'del', 'other0']);
    }
  });

  it("libvirt's own network on the subnet: its bridge is named as the libvirt network's", async () => {
    await lab.mustRun(['ip', 'link', 'add', 'virbr0', 'type', 'bridge']);
    await lab.mustRun(['ip', 'addr', 'add', '192.168.100.1/24', 'dev', 'virbr0']);
    // what the network hook learned when libvirt started its network 'default'
    const file = libvirtNetworksFile(layoutOf({ config: lab.configPath, stateDir: lab.stateDir }, {}));
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(file, `${JSON.stringify({ default: 'virbr0' })}\n`);
    try {
      const before = await lab.hostState();
      const r = await lab.cli(['up']);
      expect(r.code, r.all).toBe(3);
      expect(errorLines(r.stderr)).toEqual([
        "natnet-hook: network natnet: virbr0 (libvirt network 'default') already has 192.168.100.1/24, which overlaps 192.168.100.0/24; remove that address or give the network another subnet (address = ...)",
      ]);
      expect(await lab.hostState()).toEqual(before);
    } finally {
      await lab.mustRun(['ip', 'link', 'del', 'virbr0']);
    }
  });

  it('an existing bridge natnet-hook did not create: refused (exit 3, nothing touched) until adopt = true; down then leaves it', async () => {
    await lab.mustRun(['ip', 'link', 'add', 'virbr10', 'type', 'bridge']);
    try {
      const before = await lab.hostState();
      const r = await lab.cli(['up']);
      expect(r.code, r.all).toBe(3);
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(/^natnet-hook: network natnet: virbr10 already exists and natnet-hook did not create it; .*set adopt = true to take it over/),
      ]);
      expect(await lab.hostState()).toEqual(before);

      lab.writeConfig(networkToml({ extra: ['adopt = true'] }));
      const ok = await lab.cli(['up']);
      expect(ok.code, ok.all).toBe(0);
      expect((await lab.links()).join('\n')).toMatch(/^virbr10 52:54:00:7e:27:af /m);
      // adopted: a later up (also with adopt back to false: the record says so) keeps working
      lab.writeConfig(networkToml());
      expect((await lab.cli(['up'])).code).toBe(0);
      const down = await lab.cli(['down']);
      expect(down.code, down.all).toBe(0);
      expect((await lab.links()).some((l) => l.startsWith('virbr10 '))).toBe(true);
    } finally {
      lab.writeConfig(networkToml());
      await lab.run(['ip', 'link', 'del', 'virbr10']);
    }
  });

  /** A PATH with every tool the plan may need but `without` (the runner looks programs up in PATH). */
  const pathWithout = (without: string) => {
    const bin = join(lab.dir, `no-${without}-bin`);
    mkdirSync(bin, { recursive: true });
    for (const tool of ['ip', 'iptables', 'iptables-nft-restore', 'iptables-nft-save', 'iptables-legacy-restore', 'iptables-legacy-save', 'nft', 'dnsmasq']) {
      const dir = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].find((d) => missingTools([tool], { PATH: d }).length === 0);
      if (dir && tool !== without) symlinkSync(join(dir, tool), join(bin, tool));
    }
    return bin;
  };

  it('nft not installed for firewall = "nftables": named with its Debian package, exit 1, nothing applied', async () => {
    lab.writeConfig(networkToml({ firewall: 'nftables' }));
    try {
      const before = await lab.hostState();
      const r = await lab.cli(['up'], { env: { PATH: pathWithout('nft') } });
      expect(r.code, r.all).toBe(1);
      expect(errorLines(r.stderr)).toEqual([expect.stringContaining('nft: not found in PATH, and the plan for network natnet needs it (install the package that provides it: apt install nftables)')]);
      expect(await lab.hostState()).toEqual(before);
    } finally {
      lab.writeConfig(networkToml());
    }
  });

  it('dnsmasq not installed: named with its Debian package before the bridge or any rule exists, exit 1', async () => {
    const bin = pathWithout('dnsmasq');
    const before = await lab.hostState();
    const r = await lab.cli(['up'], { env: { PATH: bin } });
    expect(r.code, r.all).toBe(1);
    expect(errorLines(r.stderr)).toEqual([
      'natnet-hook: dnsmasq: not found in PATH, and the plan for network natnet needs it (install the package that provides it: apt install dnsmasq-base)',
    ]);
    expect(await lab.hostState()).toEqual(before);
    // and with dnsmasq back, up works
    const ok = await lab.cli(['up']);
    expect(ok.code, ok.all).toBe(0);
    expect((await lab.cli(['down'])).code).toBe(0);
  });

  it('not root: up and down say so in one line (exit 1) and touch nothing; status still tells what it can', async () => {
    const asNobody = (args: string[]) =>
      exec(
        inNs(lab.router, [
          'setpriv',
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          '--clear-groups',
          process.execPath,
          BIN,
          '--config',
          lab.configPath,
          '--state-dir',
          lab.stateDir,
          ...args,
        ]),
      );
    const before = await lab.hostState();
    const files = lab.stateFiles();
    for (const cmd of ['up', 'down']) {
      const r = await asNobody([cmd]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(errorLines(r.stderr)).toEqual([`natnet-hook: ${cmd} changes the host's network and needs root: run it as root (sudo natnet-hook ${cmd})`]);
      expect(r.stderr).not.toContain('EPERM');
    }
    expect(await lab.hostState()).toEqual(before);
    expect(lab.stateFiles()).toEqual(files);
    // a network that is down: nothing that needs root to read
    const down = await asNobody(['status']);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(down.stdout).toContain('network natnet: down');
    // applied: the firewall cannot be read without root, which status says instead of failing
    await lab.mustCli(['up']);
    try {
      const up = await asNobody(['status', '--json']);
      expect(up.code, up.stdout + up.stderr).toBe(4);
      const net = JSON.parse(up.stdout).networks[0];
      expect(net.firewall.unchecked).toContain('needs root');
      expect(net.problems).toContainEqual(expect.stringContaining('firewall not checked'));
    } finally {
      await lab.mustCli(['down']);
    }
  });
});
