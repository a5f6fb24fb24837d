import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, backendCases, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

describe.skipIf(!req.ok)(`down removes exactly what up applied${req.reason}`, () => {
  for (const backend of backendCases()) {
    describe(backend.label, () => {
      let lab: Lab;
      beforeAll(async () => {
        assertBuilt();
        lab = await Lab.create();
        lab.writeConfig(networkToml({ firewall: backend.firewall }));
      });
      afterAll(async () => {
        await lab?.cleanup();
      });

      it('links, iptables-save and nft ruleset are exactly as before; dnsmasq gone; lease database kept', async () => {
        const before = await lab.snapshot();
        const up = await lab.cli(['up'], { env: backend.env });
        expect(up.code, up.all).toBe(0);
        expect(await lab.snapshot()).not.toEqual(before);
        const libFiles = Object.keys(lab.stateFiles() ?? {}).filter((f) => f.startsWith('lib/') && /lease/i.test(f));
        expect(libFiles.length, 'a dnsmasq lease file under <state>/lib').toBeGreaterThan(0);

        const down = await lab.cli(['down'], { env: backend.env });
        expect(down.code, down.all).toBe(0);
        expect(await lab.snapshot()).toEqual(before);
        expect(await lab.dnsmasqPids()).toEqual([]);
        for (const f of libFiles) expect(existsSync(join(lab.stateDir, f)), f).toBe(true);

        const again = await lab.cli(['down'], { env: backend.env });
        expect(again.code, `a second down is a no-op: ${again.all}`).toBe(0);
        expect(await lab.snapshot()).toEqual(before);
      });

      it('down after the config changed still removes what was applied (not what the config says now)', async () => {
        const before = await lab.snapshot();
        expect((await lab.cli(['up'], { env: backend.env })).code).toBe(0);
        lab.writeConfig(networkToml({ firewall: backend.firewall, bridge: 'virbr77', address: '10.77.0.1/24', dhcpRange: '10.77.0.100-10.77.0.200' }));
        const down = await lab.cli(['down'], { env: backend.env });
        expect(down.code, down.all).toBe(0);
        expect(await lab.snapshot()).toEqual(before);
      });
    });
  }
});
