import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { golden } from './golden.js';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { reservationsFor } from '../../src/plan/reservations.js';
import { renderDnsmasqConf, renderHostsfile } from '../../src/render/dnsmasq.js';
import { resolveForwards } from '../../src/config/forward.js';
import { forwardsOf } from '../../src/plan/forwards.js';
import { renderIp6tablesRestore, renderIptablesRestore, renderIptablesRemoval, iptablesJumps, iptablesOurChains } from '../../src/render/iptables.js';
import { renderNftScript } from '../../src/render/nft.js';

const here = new URL('.', import.meta.url).pathname;

const paths = (net: string) => ({
  conf: `/run/natnet-hook/dnsmasq/${net}.conf`,
  pid: `/run/natnet-hook/dnsmasq/${net}.pid`,
  hosts: `/run/natnet-hook/dnsmasq/${net}.hosts`,
  leases: `/var/lib/natnet-hook/${net}.leases`,
});

describe('golden renderings', () => {
  for (const file of readdirSync(join(here, 'cases')).filter((f) => f.endsWith('.toml'))) {
    const base = file.replace(/\.toml$/, '');
    const p = new Problems(file);
    const cfg = parseMainConfig(readFileSync(join(here, 'cases', file), 'utf8'), p);
    const resolved = resolveForwards(cfg.networks, cfg.leases, cfg.forwards);
    it(`${file} parses without problems`, () => expect([...p.list, ...resolved.problems]).toEqual([]));
    for (const net of cfg.networks) {
      const id = `${base}.${net.name}`;
      const forwards = forwardsOf({ forwards: resolved.resolved }, net);
      it(`${id}: iptables-restore input`, () => golden(`${id}.ipt`, renderIptablesRestore(net, forwards)));
      it(`${id}: iptables removal`, () => golden(`${id}.remove.ipt`, renderIptablesRemoval(net, iptablesJumps(net), iptablesOurChains(net))));
      it(`${id}: nft script`, () => golden(`${id}.nft`, renderNftScript(net, forwards)));
      if (net.ipv6) it(`${id}: ip6tables-restore input`, () => golden(`${id}.ip6t`, renderIp6tablesRestore(net)));
      it(`${id}: dnsmasq config`, () => golden(`${id}.dnsmasq.conf`, renderDnsmasqConf(net, paths(net.name))));
      it(`${id}: hostsfile`, () => {
        const { reservations } = reservationsFor(net, cfg.leases, []);
        golden(`${id}.hosts`, renderHostsfile(reservations));
      });
    }
  }
});
