import type { Network } from '../model/types.js';
import { iptablesChains } from './names.js';

/** Built-in chain → our chain, one jump each, inserted at the top. */
export function iptablesJumps(net: Pick<Network, 'bridge'>): { table: 'nat' | 'filter'; from: string; to: string }[] {
  const c = iptablesChains(net);
  return [
    { table: 'nat', from: 'POSTROUTING', to: c.post },
    { table: 'filter', from: 'FORWARD', to: c.fwd },
    { table: 'filter', from: 'INPUT', to: c.inp },
  ];
}

/**
 * The rules of our chains, exactly as `iptables-save` prints them (so status can diff lines).
 * The handbook's NAT and FORWARD rules, plus DHCP/DNS accepted on the bridge.
 */
export function iptablesRules(net: Network): { nat: string[]; filter: string[] } {
  const c = iptablesChains(net);
  const s = `${net.subnet}/${net.prefix}`;
  const br = net.bridge;
  const out = net.outbound ? ` -o ${net.outbound}` : '';
  return {
    nat: [
      `-A ${c.post} -s ${s} -d 224.0.0.0/24 -j RETURN`,
      `-A ${c.post} -s ${s} -d 255.255.255.255/32 -j RETURN`,
      `-A ${c.post} -s ${s} ! -d ${s}${out} -p tcp -j MASQUERADE --to-ports 1024-65535`,
      `-A ${c.post} -s ${s} ! -d ${s}${out} -p udp -j MASQUERADE --to-ports 1024-65535`,
      `-A ${c.post} -s ${s} ! -d ${s}${out} -j MASQUERADE`,
    ],
    filter: [
      `-A ${c.fwd} -d ${s} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
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

/**
 * Input for `iptables-restore --noflush`: declares and flushes our chains, refills them, and
 * adds the jumps the caller found missing / deletes duplicate jumps. Never touches other chains.
 */
export function renderIptablesRestore(
  net: Network,
  jumps: { missing: { table: string; from: string; to: string }[]; duplicate: { table: string; from: string; to: string }[] } = {
    missing: iptablesJumps(net),
    duplicate: [],
  },
): string {
  const c = iptablesChains(net);
  const rules = iptablesRules(net);
  const lines: string[] = [`# natnet-hook: network ${net.name} (${net.bridge}, ${net.subnet}/${net.prefix})`];
  const section = (table: 'nat' | 'filter', chains: string[], body: string[]) => {
    lines.push(`*${table}`);
    for (const ch of chains) lines.push(`:${ch} - [0:0]`);
    for (const ch of chains) lines.push(`-F ${ch}`);
    lines.push(...body);
    for (const j of jumps.duplicate.filter((j) => j.table === table)) lines.push(`-D ${j.from} -j ${j.to}`);
    for (const j of jumps.missing.filter((j) => j.table === table)) lines.push(`-I ${j.from} 1 -j ${j.to}`);
    lines.push('COMMIT');
  };
  section('nat', [c.post], rules.nat);
  section('filter', [c.fwd, c.inp], rules.filter);
  return `${lines.join('\n')}\n`;
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
