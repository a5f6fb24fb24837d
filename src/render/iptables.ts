import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';
import { type DnatRule, dnatExceptions, dnatRules } from './forwards.js';
import { ICMPV6_INPUT } from './icmpv6.js';
import { iptablesChains } from './names.js';
import { prefixText6 } from '../net/ipv6.js';

/** Built-in chain → our chain, one jump each, inserted at the top. */
export function iptablesJumps(net: Pick<Network, 'bridge'>): { table: 'nat' | 'filter'; from: string; to: string }[] {
  const c = iptablesChains(net);
  return [
    { table: 'nat', from: 'PREROUTING', to: c.dnat },
    { table: 'nat', from: 'OUTPUT', to: c.dnat },
    { table: 'nat', from: 'POSTROUTING', to: c.post },
    { table: 'filter', from: 'FORWARD', to: c.fwd },
    { table: 'filter', from: 'INPUT', to: c.inp },
  ];
}

/** Our chains per table, in the order the restore input declares them. */
export function iptablesOurChains(net: Pick<Network, 'bridge'>): { table: 'nat' | 'filter'; chain: string }[] {
  const c = iptablesChains(net);
  return [
    { table: 'nat', chain: c.dnat },
    { table: 'nat', chain: c.post },
    { table: 'filter', chain: c.fwd },
    { table: 'filter', chain: c.inp },
  ];
}

function dnatLine(chain: string, r: DnatRule): string {
  const s = r.segment;
  const src = r.source ? ` -s ${r.source}` : '';
  const dst = r.listen ? ` -d ${r.listen}/32` : '';
  const local = r.listen ? '' : ' -m addrtype --dst-type LOCAL';
  const dport = s.first === s.last ? `${s.first}` : `${s.first}:${s.last}`;
  const to = s.to === null ? r.ip : `${r.ip}:${s.to}`;
  return `-A ${chain}${src}${dst} -p ${r.proto}${local} -m ${r.proto} --dport ${dport} -j DNAT --to-destination ${to}`;
}

/** The DNAT lines of one forward, as iptables-save prints them (status tells a forward's drift by them). */
export function iptablesForwardLines(net: Pick<Network, 'bridge'>, f: ResolvedForward): string[] {
  return dnatRules([f]).map((r) => dnatLine(iptablesChains(net).dnat, r));
}

/**
 * The rules of our chains, exactly as `iptables-save` prints them (so status can diff lines).
 * The handbook's NAT and FORWARD rules, DHCP/DNS accepted on the bridge, and the port forwards:
 * DNAT (PREROUTING and OUTPUT), DNATed connections accepted before the handbook's reject, and
 * masquerade for a VM reaching a forward of its own network (hairpin).
 */
export function iptablesRules(net: Network, forwards: ResolvedForward[] = []): { nat: string[]; filter: string[] } {
  const c = iptablesChains(net);
  const s = `${net.subnet}/${net.prefix}`;
  const br = net.bridge;
  const out = net.outbound ? ` -o ${net.outbound}` : '';
  const any = forwards.length > 0;
  return {
    nat: [
      ...(any ? dnatExceptions(net).map((d) => `-A ${c.dnat} -d ${d.includes('/') ? d : `${d}/32`} -j RETURN`) : []),
      ...dnatRules(forwards).map((r) => dnatLine(c.dnat, r)),
      `-A ${c.post} -s ${s} -d 224.0.0.0/24 -j RETURN`,
      `-A ${c.post} -s ${s} -d 255.255.255.255/32 -j RETURN`,
      `-A ${c.post} -s ${s} ! -d ${s}${out} -p tcp -j MASQUERADE --to-ports 1024-65535`,
      `-A ${c.post} -s ${s} ! -d ${s}${out} -p udp -j MASQUERADE --to-ports 1024-65535`,
      `-A ${c.post} -s ${s} ! -d ${s}${out} -j MASQUERADE`,
      ...(any ? [`-A ${c.post} -s ${s} -d ${s} -m conntrack --ctstate DNAT -j MASQUERADE`] : []),
    ],
    filter: [
      `-A ${c.fwd} -d ${s} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      ...(any ? [`-A ${c.fwd} -d ${s} -o ${br} -m conntrack --ctstate DNAT -j ACCEPT`] : []),
      `-A ${c.fwd} -s ${s} -i ${br}${out} -j ACCEPT`,
      `-A ${c.fwd} -i ${br} -o ${br} -j ACCEPT`,
      `-A ${c.fwd} -o ${br} -j REJECT --reject-with icmp-port-unreachable`,
      `-A ${c.fwd} -i ${br} -j REJECT --reject-with icmp-port-unreachable`,
      `-A ${c.inp} -i ${br} -p udp -m udp --dport 67 -j ACCEPT`,
      `-A ${c.inp} -i ${br} -p udp -m udp --dport 53 -j ACCEPT`,
      `-A ${c.inp} -i ${br} -p tcp -m tcp --dport 53 -j ACCEPT`,
    ],
  };
}

type JumpList = { table: string; from: string; to: string }[];

/** restore input: declare and flush our chains, refill them, delete duplicate jumps, add missing ones. */
function restoreText(title: string, chains: { table: 'nat' | 'filter'; chain: string }[], rules: { nat: string[]; filter: string[] }, jumps: { missing: JumpList; duplicate: JumpList }): string {
  const lines: string[] = [title];
  for (const table of ['nat', 'filter'] as const) {
    const ours = chains.filter((c) => c.table === table).map((c) => c.chain);
    lines.push(`*${table}`);
    for (const ch of ours) lines.push(`:${ch} - [0:0]`);
    for (const ch of ours) lines.push(`-F ${ch}`);
    lines.push(...rules[table]);
    for (const j of jumps.duplicate.filter((j) => j.table === table)) lines.push(`-D ${j.from} -j ${j.to}`);
    for (const j of jumps.missing.filter((j) => j.table === table)) lines.push(`-I ${j.from} 1 -j ${j.to}`);
    lines.push('COMMIT');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Input for `iptables-restore --noflush`: declares and flushes our chains, refills them, and
 * adds the jumps the caller found missing / deletes duplicate jumps. Never touches other chains.
 */
export function renderIptablesRestore(
  net: Network,
  forwards: ResolvedForward[] = [],
  jumps: { missing: JumpList; duplicate: JumpList } = { missing: iptablesJumps(net), duplicate: [] },
): string {
  const title = `# natnet-hook: network ${net.name} (${net.bridge}, ${net.subnet}/${net.prefix})`;
  return restoreText(title, iptablesOurChains(net), iptablesRules(net, forwards), jumps);
}

/** Input for `iptables-restore --noflush` that removes our jumps (each occurrence) and chains. */
export function renderIptablesRemoval(net: Network, presentJumps: { table: string; from: string; to: string }[], presentChains: { table: string; chain: string }[]): string {
  const lines: string[] = [`# natnet-hook: remove network ${net.name} (${net.bridge})`];
  for (const table of ['nat', 'filter']) {
    const js = presentJumps.filter((j) => j.table === table);
    const cs = presentChains.filter((c) => c.table === table);
    if (js.length === 0 && cs.length === 0) continue;
    lines.push(`*${table}`);
    for (const j of js) lines.push(`-D ${j.from} -j ${j.to}`);
    for (const c of cs) lines.push(`-F ${c.chain}`);
    for (const c of cs) lines.push(`-X ${c.chain}`);
    lines.push('COMMIT');
  }
  return `${lines.join('\n')}\n`;
}

/** Built-in chains our jumps start from, as "table CHAIN" (the same for every network). */
export const JUMP_CHAINS = iptablesJumps({ bridge: '' }).map((j) => `${j.table} ${j.from}`);

/** The same for ip6tables. */
export const IP6_JUMP_CHAINS = ip6tablesJumps({ bridge: '' }).map((j) => `${j.table} ${j.from}`);

/**
 * IPv6 (ip6tables, its own namespace: the chain names are the IPv4 ones). No port forwards, so
 * no DNAT chain; the nat chain exists in both modes (empty when routed) so a mode change is a refill.
 */
export function ip6tablesJumps(net: Pick<Network, 'bridge'>): { table: 'nat' | 'filter'; from: string; to: string }[] {
  return iptablesJumps(net).filter((j) => j.to !== iptablesChains(net).dnat);
}

export function ip6tablesOurChains(net: Pick<Network, 'bridge'>): { table: 'nat' | 'filter'; chain: string }[] {
  return iptablesOurChains(net).filter((c) => c.chain !== iptablesChains(net).dnat);
}

/**
 * Our IPv6 rules exactly as `ip6tables-save` prints them: ICMPv6 (render/icmpv6.ts), DHCPv6 and
 * DNS accepted on the bridge; the prefix out, established/related in, bridge to bridge, the rest
 * rejected; with nat66 masquerade from the prefix to outside it (not to link-scope multicast
 * ff02::/16). Routed: no NAT, inbound still only established. Port forwards are IPv4-only.
 */
export function ip6tablesRules(net: Network): { nat: string[]; filter: string[] } {
  const v6 = net.ipv6;
  if (!v6) return { nat: [], filter: [] };
  const c = iptablesChains(net);
  const s = prefixText6(v6);
  const br = net.bridge;
  const out = net.outbound ? ` -o ${net.outbound}` : '';
  return {
    nat:
      v6.mode === 'nat66'
        ? [
            `-A ${c.post} -s ${s} -d ff02::/16 -j RETURN`,
            `-A ${c.post} -s ${s} ! -d ${s}${out} -p tcp -j MASQUERADE --to-ports 1024-65535`,
            `-A ${c.post} -s ${s} ! -d ${s}${out} -p udp -j MASQUERADE --to-ports 1024-65535`,
            `-A ${c.post} -s ${s} ! -d ${s}${out} -j MASQUERADE`,
          ]
        : [],
    filter: [
      `-A ${c.fwd} -d ${s} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A ${c.fwd} -s ${s} -i ${br}${out} -j ACCEPT`,
      `-A ${c.fwd} -i ${br} -o ${br} -j ACCEPT`,
      `-A ${c.fwd} -o ${br} -j REJECT --reject-with icmp6-port-unreachable`,
      `-A ${c.fwd} -i ${br} -j REJECT --reject-with icmp6-port-unreachable`,
      ...ICMPV6_INPUT.map(({ type }) => `-A ${c.inp} -i ${br} -p ipv6-icmp -m icmp6 --icmpv6-type ${type} -j ACCEPT`),
      `-A ${c.inp} -i ${br} -p udp -m udp --dport 547 -j ACCEPT`,
      `-A ${c.inp} -i ${br} -p udp -m udp --dport 53 -j ACCEPT`,
      `-A ${c.inp} -i ${br} -p tcp -m tcp --dport 53 -j ACCEPT`,
    ],
  };
}

/** Input for `ip6tables-restore --noflush`, like renderIptablesRestore. */
export function renderIp6tablesRestore(
  net: Network,
  jumps: { missing: JumpList; duplicate: JumpList } = { missing: ip6tablesJumps(net), duplicate: [] },
): string {
  const v6 = net.ipv6;
  const title = `# natnet-hook: network ${net.name} (${net.bridge}, ${v6 ? `${prefixText6(v6)} ${v6.mode}` : 'no IPv6'})`;
  return restoreText(title, ip6tablesOurChains(net), ip6tablesRules(net), jumps);
}
