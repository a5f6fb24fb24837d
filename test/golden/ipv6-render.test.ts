/**
 * Golden renderings of the IPv6 firewall (ip6tables-restore input and removal, the nft script
 * with both tables), both modes, from hand-built networks (the IPv4 side stays the cases' one).
 */
import { describe, it } from 'vitest';
import { golden } from './golden.js';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { Ipv6Mode, Network } from '../../src/model/types.js';
import { ip6tablesJumps, ip6tablesOurChains, renderIp6tablesRestore, renderIptablesRemoval } from '../../src/render/iptables.js';
import { renderNftRemoval, renderNftScript } from '../../src/render/nft.js';

const [base] = parseMainConfig('', new Problems('f')).networks;

function withIpv6(net: Network, mode: Ipv6Mode, outbound: string | null = null): Network {
  return {
    ...net,
    outbound,
    ipv6: { auto: false, gateway: 'fd00:1:2:3::1', prefix: 64, subnet: 'fd00:1:2:3::', mode, dhcpv6: 'stateless', dhcpStart: null, dhcpEnd: null, fixAcceptRa: false },
  };
}

describe('golden IPv6 firewall renderings', () => {
  const cases: [string, Network][] = [
    ['ipv6-nat66', withIpv6(base, 'nat66')],
    ['ipv6-nat66-outbound', withIpv6(base, 'nat66', 'eth0')],
    ['ipv6-routed', withIpv6(base, 'routed')],
  ];
  for (const [id, net] of cases) {
    it(`${id}: ip6tables-restore input`, () => golden(`${id}.ip6t`, renderIp6tablesRestore(net)));
    it(`${id}: nft script (ip and ip6 tables)`, () => golden(`${id}.nft`, renderNftScript(net)));
  }
  it('ip6tables removal', () => golden('ipv6.remove.ip6t', renderIptablesRemoval(base, ip6tablesJumps(base), ip6tablesOurChains(base))));
  it('nft removal of both tables', () => golden('ipv6.remove.nft', renderNftRemoval(base, { ip: true, ip6: true })));
  it('nft script of a network whose IPv6 was turned off (the ip6 table goes in the same transaction)', () =>
    golden('ipv6-off.nft', renderNftScript(base, [], { dropIp6: true })));
});
