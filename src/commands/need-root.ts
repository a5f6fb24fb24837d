import { NatnetError } from '../errors.js';

/**
 * A command that changes the host's network (bridges, addresses, firewall, dnsmasq) refuses at
 * once, in one line, when not run as root: not with an EPERM from the middle of its steps.
 */
export function assertRoot(command: string, euid = process.geteuid?.() ?? 0): void {
  if (euid !== 0) throw new NatnetError(`${command} changes the host's network and needs root: run it as root (sudo natnet-hook ${command})`);
}
