import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';
import { type DnatRule, dnatExceptions, dnatRules } from './forwards.js';
import { ICMPV6_INPUT } from './icmpv6.js';
import { nftTable } from './names.js';
import { prefixText6 } from '../net/ipv6.js';

function dnatLine(r: DnatRule): string {
  const s = r.segment;
  const src = r.source ? `ip saddr ${r.source.endsWith('/32') ? r.source.slice(0, -3) : r.source} ` : '';
  const dst = r.listen ? `ip daddr ${r.listen} ` : 'fib daddr type local ';
  const dport = s.first === s.last ? `${s.first}` : `${s.first}-${s.last}`;
  const to = s.to === null ? r.ip : `${r.ip}:${s.to}`;
  return `${src}${dst}${r.proto} dport ${dport} dnat to ${to}`;
}

/** The rule lines of one forward in chain `forwards`, as nft lists them. */
export function nftForwardLines(f: ResolvedForward): string[] {
  return dnatRules([f]).map(dnatLine);
}

/**
 * The rule lines of our table, in the canonical form `nft list table` prints (status compares
 * them). A regular chain (no hook) has hook ''. Port forwards: chain `forwards`, jumped to from
 * prerouting and output; `ct status dnat` accepted before the reject; hairpin masquerade.
 */
export function nftChains(net: Network, forwards: ResolvedForward[] = []): NftChain[] {
  const s = `${net.subnet}/${net.prefix}`;
  const br = `"${net.bridge}"`;
  const out = net.outbound ? ` oifname "${net.outbound}"` : '';
  const any = forwards.length > 0;
  return [
    {
      name: 'forwards',
      hook: '',
      rules: [...(any ? dnatExceptions(net).map((d) => `ip daddr ${d} return`) : []), ...dnatRules(forwards).map(dnatLine)],
    },
    { name: 'nat_pre', hook: 'type nat hook prerouting priority dstnat; policy accept;', rules: ['jump forwards'] },
    { name: 'nat_out', hook: 'type nat hook output priority -100; policy accept;', rules: ['jump forwards'] },
    {
      name: 'nat_post',
      hook: 'type nat hook postrouting priority srcnat; policy accept;',
      rules: [
        `ip saddr ${s} ip daddr 224.0.0.0/24 return`,
        `ip saddr ${s} ip daddr 255.255.255.255 return`,
        `ip saddr ${s} ip daddr != ${s}${out} meta l4proto tcp masquerade to :1024-65535`,
        `ip saddr ${s} ip daddr != ${s}${out} meta l4proto udp masquerade to :1024-65535`,
        `ip saddr ${s} ip daddr != ${s}${out} masquerade`,
        ...(any ? [`ip saddr ${s} ip daddr ${s} ct status dnat masquerade`] : []),
      ],
    },
    {
      name: 'filter_fwd',
      hook: 'type filter hook forward priority filter; policy accept;',
      rules: [
        `ip daddr ${s} oifname ${br} ct state established,related accept`,
        ...(any ? [`ip daddr ${s} oifname ${br} ct status dnat accept`] : []),
        `ip saddr ${s} iifname ${br}${out} accept`,
        `iifname ${br} oifname ${br} accept`,
        `oifname ${br} reject`,
        `iifname ${br} reject`,
      ],
    },
    {
      name: 'filter_inp',
      hook: 'type filter hook input priority filter; policy accept;',
      rules: [`iifname ${br} udp dport 67 accept`, `iifname ${br} udp dport 53 accept`, `iifname ${br} tcp dport 53 accept`],
    },
  ];
}

type NftChain = { name: string; hook: string; rules: string[] };

function tableText(family: 'ip' | 'ip6', name: string, chains: NftChain[]): string {
  const body = chains.map((c) => [`\tchain ${c.name} {`, ...(c.hook ? [`\t\t${c.hook}`] : []), ...c.rules.map((r) => `\t\t${r}`), '\t}'].join('\n'));
  return `table ${family} ${name} {\n${body.join('\n\n')}\n}\n`;
}

/** Body of `table ip NAME { ... }` as nft lists it. */
export function renderNftTableBody(net: Network, forwards: ResolvedForward[] = []): string {
  return tableText('ip', nftTable(net), nftChains(net, forwards));
}

/**
 * The chains of our `table ip6` (same name as the ip one), canonical as `nft list table ip6`
 * prints them: the IPv6 side of render/iptables.ts ip6tablesRules. No port forwards; routed
 * mode has no nat chain. Empty when the network has no IPv6.
 */
export function nft6Chains(net: Network): NftChain[] {
  const v6 = net.ipv6;
  if (!v6) return [];
  const s = prefixText6(v6);
  const br = `"${net.bridge}"`;
  const out = net.outbound ? ` oifname "${net.outbound}"` : '';
  const nat: NftChain[] =
    v6.mode === 'nat66'
      ? [
          {
            name: 'nat_post',
            hook: 'type nat hook postrouting priority srcnat; policy accept;',
            rules: [
              `ip6 saddr ${s} ip6 daddr ff02::/16 return`,
              `ip6 saddr ${s} ip6 daddr != ${s}${out} meta l4proto tcp masquerade to :1024-65535`,
              `ip6 saddr ${s} ip6 daddr != ${s}${out} meta l4proto udp masquerade to :1024-65535`,
              `ip6 saddr ${s} ip6 daddr != ${s}${out} masquerade`,
            ],
          },
        ]
      : [];
  return [
    ...nat,
    {
      name: 'filter_fwd',
      hook: 'type filter hook forward priority filter; policy accept;',
      rules: [
        `ip6 daddr ${s} oifname ${br} ct state established,related accept`,
        `ip6 saddr ${s} iifname ${br}${out} accept`,
        `iifname ${br} oifname ${br} accept`,
        `oifname ${br} reject`,
        `iifname ${br} reject`,
      ],
    },
    {
      name: 'filter_inp',
      hook: 'type filter hook input priority filter; policy accept;',
      rules: [
        `iifname ${br} icmpv6 type { ${ICMPV6_INPUT.map((t) => t.name).join(', ')} } accept`,
        `iifname ${br} udp dport 547 accept`,
        `iifname ${br} udp dport 53 accept`,
        `iifname ${br} tcp dport 53 accept`,
      ],
    },
  ];
}

/** `table ip6 NAME { ... }` as nft lists it. */
export function renderNft6TableBody(net: Network): string {
  return tableText('ip6', nftTable(net), nft6Chains(net));
}

/**
 * One `nft -f` transaction that creates-or-replaces our tables atomically (nft 1.0.6 has no
 * `destroy`): the ip table, and the ip6 one when the network has IPv6. `dropIp6`: the network
 * has no IPv6 (any more) but our ip6 table exists: it goes in the same transaction.
 */
export function renderNftScript(net: Network, forwards: ResolvedForward[] = [], opts: { dropIp6?: boolean } = {}): string {
  const t = nftTable(net);
  const v4 = `# natnet-hook: network ${net.name} (${net.bridge}, ${net.subnet}/${net.prefix})\ntable ip ${t}\ndelete table ip ${t}\n${renderNftTableBody(net, forwards)}`;
  if (net.ipv6) return `${v4}table ip6 ${t}\ndelete table ip6 ${t}\n${renderNft6TableBody(net)}`;
  return opts.dropIp6 ? `${v4}table ip6 ${t}\ndelete table ip6 ${t}\n` : v4;
}

/** Removes our tables: the ip one, the ip6 one, or both (those that exist). */
export function renderNftRemoval(net: Pick<Network, 'bridge'>, families: { ip: boolean; ip6: boolean } = { ip: true, ip6: false }): string {
  const t = nftTable(net);
  return (['ip', 'ip6'] as const)
    .filter((f) => families[f])
    .map((f) => `table ${f} ${t}\ndelete table ${f} ${t}\n`)
    .join('');
}
