import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, hostIptablesVariant, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { inNs } from '../../src/selftest/exec.js';
import { exec, Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });
const ipt = `iptables-${hostIptablesVariant()}`;

const FOREIGN_NFT = `table inet foreign {
  chain foreign_forward {
    type filter hook forward priority 10; policy accept;
    ip saddr 10.9.9.0/24 counter accept
  }
}
`;

describe.skipIf(!req.ok)(`other people's rules are never touched; a backend switch leaves nothing behind${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    await lab.mustRun([ipt, '-w', '-A', 'FORWARD', '-s', '10.9.9.0/24', '-j', 'ACCEPT']);
    await lab.mustRun([ipt, '-w', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-s', '10.9.9.0/24', '-j', 'MASQUERADE']);
    const load = await exec(inNs(lab.router, ['nft', '-f', '-']), { input: FOREIGN_NFT });
    if (load.code !== 0) throw new Error(`nft -f: ${load.stderr}`);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('iptables: foreign FORWARD/POSTROUTING rules and a foreign nft table survive up and down unchanged', async () => {
    const before = await lab.snapshot();
    lab.writeConfig(networkToml({ firewall: 'iptables' }));
    expect((await lab.cli(['up'])).code).toBe(0);
    const save = await lab.iptablesSave(`${ipt}-save`);
    expect(save).toContain('-A FORWARD -s 10.9.9.0/24 -j ACCEPT');
    expect(save).toContain('-A POSTROUTING -s 10.9.9.0/24 -o wan0 -j MASQUERADE');
    expect(await lab.nftRuleset()).toContain('table inet foreign');
    expect((await lab.cli(['status'])).code, 'foreign rules are not "unexpected extras" of ours').toBe(0);
    expect((await lab.cli(['down'])).code).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  });

  it('switching the backend iptables -> nftables -> iptables: up removes the old backend\'s rules, down restores the start', async () => {
    const before = await lab.snapshot();
    lab.writeConfig(networkToml({ firewall: 'iptables' }));
    expect((await lab.cli(['up'])).code).toBe(0);
    const withIptables = await lab.snapshot();

    lab.writeConfig(networkToml({ firewall: 'nftables' }));
    const toNft = await lab.cli(['up']);
    expect(toNft.code, toNft.all).toBe(0);
    const afterSwitch = await lab.snapshot();
    expect(afterSwitch.iptables === before.iptables && afterSwitch.legacy === before.legacy, 'no iptables rules of ours left').toBe(true);
    expect(afterSwitch.nft).toMatch(/masquerade to :1024-65535/);
    expect((await lab.cli(['status'])).code).toBe(0);

    lab.writeConfig(networkToml({ firewall: 'iptables' }));
    expect((await lab.cli(['up'])).code).toBe(0);
    expect(await lab.snapshot()).toEqual(withIptables);

    expect((await lab.cli(['down'])).code).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  });
});
