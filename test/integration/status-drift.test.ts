import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, backendCases, LAB_BINS, networkToml } from '../helpers/lab-config.js';
import { Lab } from '../helpers/netns.js';
import { needs } from '../helpers/requirements.js';

const req = needs({ root: true, bins: LAB_BINS });

/** The udp MASQUERADE rule, found in whatever chain/table the engine put it. */
async function deleteUdpMasquerade(lab: Lab, backend: ReturnType<typeof backendCases>[number]): Promise<void> {
  if (backend.firewall === 'iptables') {
    const save = await lab.iptablesSave(backend.save);
    const line = save.split('\n').find((l) => /^-A \S+ .*-p udp .*-j MASQUERADE/.test(l));
    expect(line, save).toBeDefined();
    const ipt = backend.save.replace(/-save$/, '');
    await lab.mustRun([ipt, '-w', '-t', 'nat', '-D', ...line!.slice(3).split(' ')]);
    return;
  }
  const listing = await lab.mustRun(['nft', '-a', 'list', 'ruleset']);
  let table = '';
  let chain = '';
  for (const l of listing.split('\n')) {
    const t = /^table (\S+ \S+) \{/.exec(l);
    if (t) table = t[1];
    const c = /^\s*chain (\S+) \{/.exec(l);
    if (c) chain = c[1];
    const h = /udp.*masquerade.*# handle (\d+)/.exec(l);
    if (h) {
      await lab.mustRun(['nft', 'delete', 'rule', ...table.split(' '), chain, 'handle', h[1]]);
      return;
    }
  }
  throw new Error(`no udp masquerade rule in:\n${listing}`);
}

describe.skipIf(!req.ok)(`a deleted rule is reported by status and repaired by up${req.reason}`, () => {
  for (const backend of backendCases()) {
    describe(backend.label, () => {
      let lab: Lab;
      beforeAll(async () => {
        assertBuilt();
        lab = await Lab.create();
        lab.writeConfig(networkToml({ firewall: backend.firewall }));
        await lab.mustCli(['up'], { env: backend.env });
      });
      afterAll(async () => {
        await lab?.cleanup();
      });

      it('status names the missing rule and exits non-zero; up puts it back', async () => {
        const healthy = await lab.snapshot();
        await deleteUdpMasquerade(lab, backend);
        expect(await lab.snapshot()).not.toEqual(healthy);

        const st = await lab.cli(['status'], { env: backend.env });
        expect(st.code, st.all).not.toBe(0);
        // One line names the rule: missing + its protocol + its target.
        expect(st.all).toMatch(/missing[^\n]*udp[^\n]*masquerade/i);

        const up = await lab.cli(['up'], { env: backend.env });
        expect(up.code, up.all).toBe(0);
        expect(await lab.snapshot()).toEqual(healthy);
        const again = await lab.cli(['status'], { env: backend.env });
        expect(again.code, again.all).toBe(0);
      });
    });
  }
});
