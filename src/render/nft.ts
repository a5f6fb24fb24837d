import type { ResolvedForward } from '../model/forward.js';
import type { Network } from '../model/types.js';
import { type DnatRule, dnatExceptions, dnatRules } from './forwards.js';
import { nftTable } from './names.js';

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
export function nftChains(net: Network, forwards: ResolvedForward[] = []): { name: string; hook: string; rules: string[] }[] {
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

/** Body of `table ip NAME { ... }` as nft lists it. */
export function renderNftTableBody(net: Network, forwards: ResolvedForward[] = []): string {
  const chains = nftChains(net, forwards).map((c) => [`\tchain ${c.name} {`, ...(c.hook ? [`\t\t${c.hook}`] : []), ...c.rules.map((r) => `\t\t${r}`), '\t}'].join('\n'));
  return `table ip ${nftTable(net)} {\n${chains.join('\n\n')}\n}\n`;
}

/** One `nft -f` transaction that creates-or-replaces our table atomically (nft 1.0.6 has no `destroy`). */
export function renderNftScript(net: Network, forwards: ResolvedForward[] = []): string {
  const t = nftTable(net);
  return `# natnet-hook: network ${net.name} (${net.bridge}, ${net.subnet}/${net.prefix})\ntable ip ${t}\ndelete table ip ${t}\n${renderNftTableBody(net, forwards)}`;
}

export function renderNftRemoval(net: Pick<Network, 'bridge'>): string {
  const t = nftTable(net);
  return `table ip ${t}\ndelete table ip ${t}\n`;
}
