/**
 * ICMPv6 accepted from the guests on the bridge (INPUT), by number (ip6tables) and by the name
 * nft lists: errors, echo request, MLD query/report/done and the MLDv2 report, router
 * solicitation, neighbour solicitation/advertisement. Not router advertisements or redirects:
 * those come from routers, not from guests. (libvirt adds no ICMPv6 rule and relies on the
 * INPUT policy; these matter where that policy is strict, like our DHCP/DNS accepts.)
 */
export const ICMPV6_INPUT: readonly { type: number; name: string }[] = [
  { type: 1, name: 'destination-unreachable' },
  { type: 2, name: 'packet-too-big' },
  { type: 3, name: 'time-exceeded' },
  { type: 4, name: 'parameter-problem' },
  { type: 128, name: 'echo-request' },
  { type: 130, name: 'mld-listener-query' },
  { type: 131, name: 'mld-listener-report' },
  { type: 132, name: 'mld-listener-done' },
  { type: 133, name: 'nd-router-solicit' },
  { type: 135, name: 'nd-neighbor-solicit' },
  { type: 136, name: 'nd-neighbor-advert' },
  { type: 143, name: 'mld2-listener-report' },
];
