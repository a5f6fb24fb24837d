/**
 * The iptables rules Docker 28 installs for its default bridge docker0, written by the test as
 * Docker writes them (moby 28: daemon/libnetwork/drivers/bridge/internal/iptabler setupIPChains,
 * the per-network rules of its bridge driver, libnetwork firewall_linux.go setupUserChain):
 * FORWARD policy DROP, DOCKER-USER (with its RETURN) and DOCKER-FORWARD jumped to first, and
 * DOCKER-FORWARD's DOCKER-CT, isolation and DOCKER-BRIDGE chains. As iptables-restore input.
 */

const FILTER_CHAINS = ['DOCKER', 'DOCKER-BRIDGE', 'DOCKER-CT', 'DOCKER-FORWARD', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2', 'DOCKER-USER'];

/** Docker's filter rules (docker0's only in IPv4: Docker gives docker0 no IPv6 by default). */
function filterRules(ipv6: boolean): string[] {
  const docker0 = ipv6
    ? []
    : [
        '-A DOCKER ! -i docker0 -o docker0 -j DROP',
        '-A DOCKER-BRIDGE -o docker0 -j DOCKER',
        '-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      ];
  return [
    ...docker0,
    '-A DOCKER-FORWARD -j DOCKER-CT',
    '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
    '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
    ...(ipv6 ? [] : ['-A DOCKER-FORWARD -i docker0 -j ACCEPT', '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2', '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP']),
    '-A DOCKER-USER -j RETURN',
  ];
}

/** A first start of Docker: its chains, the jumps from FORWARD, policy DROP; nat's DOCKER chain and docker0's MASQUERADE. */
export function dockerStart(ipv6 = false): string {
  return [
    '*filter',
    ':FORWARD DROP [0:0]',
    ...FILTER_CHAINS.map((c) => `:${c} - [0:0]`),
    '-A FORWARD -j DOCKER-USER',
    '-A FORWARD -j DOCKER-FORWARD',
    ...filterRules(ipv6),
    'COMMIT',
    '*nat',
    ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    `-A OUTPUT ! -d ${ipv6 ? '::1/128' : '127.0.0.0/8'} -m addrtype --dst-type LOCAL -j DOCKER`,
    ...(ipv6 ? [] : ['-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE', '-A DOCKER -i docker0 -j RETURN']),
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * "Docker restarts" after its rules were reset: every Docker chain flushed and refilled, DOCKER-USER
 * included, and its jumps put back at the top of FORWARD (above anyone else's), policy DROP.
 */
export function dockerRestart(ipv6 = false): string {
  return [
    '*filter',
    ':FORWARD DROP [0:0]',
    ...FILTER_CHAINS.map((c) => `-F ${c}`),
    '-D FORWARD -j DOCKER-USER',
    '-D FORWARD -j DOCKER-FORWARD',
    '-I FORWARD 1 -j DOCKER-FORWARD',
    '-I FORWARD 1 -j DOCKER-USER',
    ...filterRules(ipv6),
    'COMMIT',
    '',
  ].join('\n');
}
