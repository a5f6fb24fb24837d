import type { Network } from '../model/types.js';
import { nftTable } from './names.js';

/** The rule lines of our table, in the canonical form `nft list table` prints (status compares them). */
export function nftChains(net: Network): { name: string; hook: string; rules: string[] }[] {
  const s = `${net.subnet}/${net.prefix}`;
  const br = `"${net.bridge}"`;
  const out = net.outbound ? ` oifname "${net.outbound}"` : '';
  return [
    {
      name: 'nat_post',
      hook: 'type nat hook postrouting priority srcnat; policy accept;',
      rules: [
        `ip saddr ${s} ip daddr 224.0.0.0/24 return`,
        `ip saddr ${s} ip daddr 255.255.255.255 return`,
        `ip saddr ${s} ip daddr != ${s}${out} meta l4proto tcp masquerade to :1024-65535`,
        `ip saddr ${s} ip daddr != ${s}${out} meta l4proto udp masquerade to :1024-65535`,
        `ip saddr ${s} ip daddr != ${s}${out} masquerade`,
      ],
    },
    {
      name: 'filter_fwd',
      hook: 'type filter hook forward priority filter; policy accept;',
      rules: [
        `ip daddr ${s} oifname ${br} ct state established,related accept`,
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
export function renderNftTableBody(net: Network): string {
  const chains = nftChains(net).map((c) => [`\tchain ${c.name} {`, `\t\t${c.hook}`, ...c.rules.map((r) => `\t\t${r}`), '\t}'].join('\n'));
  return `table ip ${nftTable(net)} {\n${chains.join('\n\n')}\n}\n`;
}

/** One `nft -f` transaction that creates-or-replaces our table atomically (nft 1.0.6 has no `destroy`). */
export function renderNftScript(net: Network): string {
  const t = nftTable(net);
  return `# natnet-hook: network ${net.name} (${net.bridge}, ${net.subnet}/${net.prefix})\ntable ip ${t}\ndelete table ip ${t}\n${renderNftTableBody(net)}`;
}

export function renderNftRemoval(net: Pick<Network, 'bridge'>): string {
  const t = nftTable(net);
  return `table ip ${t}\ndelete table ip ${t}\n`;
}
