import { NatnetError } from '../errors.js';
import { appliedDir, type Layout } from '../state/layout.js';
import { recordNames } from '../state/store.js';

const currentEuid = () => process.geteuid?.() ?? 0;

/**
 * A command that changes the host's network (bridges, addresses, firewall, dnsmasq) refuses at
 * once, in one line, when not run as root: not with an EPERM from the middle of its steps.
 */
export function assertRoot(command: string, euid = currentEuid()): void {
  if (euid !== 0) throw new NatnetError(`${command} changes the host's network and needs root: run it as root (sudo natnet-hook ${command})`);
}

/** `plan` (up --dry-run) changes nothing but reads the host's firewall, which only root may. */
export function assertRootToRead(command: string, euid = currentEuid()): void {
  if (euid !== 0) throw new NatnetError(`${command} reads the host's firewall (iptables/nft), which needs root: run it as root (sudo natnet-hook ${command})`);
}

/**
 * `lease add|rm` apply a change live to the networks that are up (hostsfile, dnsmasq): root only
 * then. With nothing applied they only write leases.d, which file permissions decide.
 */
export function assertRootIfApplied(l: Pick<Layout, 'runDir'>, command: string, euid = currentEuid()): void {
  if (euid !== 0 && recordNames(appliedDir(l)).length > 0) assertRoot(command, euid);
}
