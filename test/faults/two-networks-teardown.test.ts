/**
 * Host-wide changes belong to no single network: iptables-nft creates the `ip nat`/`ip filter`
 * tables for whichever network comes first, and ip_forward is set once. However the networks
 * are brought up and taken down (together, one by one, in either order), the last down must
 * leave links, both iptables variants, the nft ruleset and ip_forward exactly as they began.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });
const env = { NATNET_HOOK_IPTABLES: 'nft' };

const config =
  networkToml({ firewall: 'iptables' }) +
  networkToml({ name: 'lab', bridge: 'virbr11', address: '192.168.101.1/24', dhcpRange: '192.168.101.128-192.168.101.254', firewall: 'iptables' }).replace(
    '52:54:00:7e:27:af',
    '52:54:00:7e:27:b0',
  );

describe.skipIf(!req.ok)(`two iptables-nft networks: the last down leaves the ruleset as it began${req.reason}`, () => {
  let lab: Lab;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create();
    lab.writeConfig(config);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  const hostState = () => lab.hostState();

  const orders: { name: string; ups: string[][]; downs: string[][] }[] = [
    { name: 'up both, down both', ups: [['up']], downs: [['down']] },
    { name: 'up both, down natnet then lab', ups: [['up']], downs: [['down', 'natnet'], ['down', 'lab']] },
    { name: 'up both, down lab then natnet', ups: [['up']], downs: [['down', 'lab'], ['down', 'natnet']] },
    { name: 'up natnet then lab, down natnet then lab', ups: [['up', 'natnet'], ['up', 'lab']], downs: [['down', 'natnet'], ['down', 'lab']] },
    { name: 'up lab then natnet, down natnet then lab', ups: [['up', 'lab'], ['up', 'natnet']], downs: [['down', 'natnet'], ['down', 'lab']] },
  ];

  for (const o of orders) {
    it(o.name, async () => {
      const before = await hostState();
      expect(before.nft, 'the lab starts with an empty nft ruleset').toBe('');
      for (const argv of o.ups) await lab.mustCli(argv, { env });
      expect((await hostState()).nft).toMatch(/table ip nat/);
      for (const argv of o.downs) await lab.mustCli(argv, { env });
      expect(await hostState()).toEqual(before);
    });
  }
});
