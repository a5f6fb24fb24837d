import { NatnetError } from '../errors.js';
import type { Backend } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { detectIptablesVariant, type IptablesVariant } from '../observe/iptables.js';
import { installHint } from '../observe/tools.js';

export const AUTO_RULE =
  'auto = iptables (the variant the host uses) when an iptables binary exists, else nftables: ' +
  'the iptables jump sits at the top of FORWARD and so also works where the FORWARD policy is DROP';

export interface BackendChoice {
  backend: Backend;
  variant: IptablesVariant | null;
  why: string;
}

export function chooseBackend(net: Network, variant = detectIptablesVariant()): BackendChoice {
  if (net.firewall === 'nftables') return { backend: 'nftables', variant: null, why: 'configured: nftables' };
  if (net.firewall === 'iptables') {
    if (!variant) throw new NatnetError(`network ${net.name}: firewall = "iptables" but no iptables binary was found (${installHint('iptables')})`);
    return { backend: 'iptables', variant, why: `configured: iptables (${variant})` };
  }
  return variant
    ? { backend: 'iptables', variant, why: `auto: iptables binary found (${variant})` }
    : { backend: 'nftables', variant: null, why: 'auto: no iptables binary, using nftables' };
}
