import { NatnetError } from '../errors.js';
import type { Runner } from '../sys/runner.js';

export class DefaultNetworkError extends NatnetError {}

/**
 * The handbook's step: `virsh net-destroy default` + `virsh net-autostart --disable default`,
 * refused while a running VM has an interface on it. Not a hook, so calling virsh is safe here.
 */
export async function disableDefaultNetwork(runner: Runner, uri: string): Promise<string[]> {
  const virsh = (...args: string[]) => ['virsh', '-q', '-c', uri, ...args];
  const info = await runner.run(virsh('net-info', 'default'), { readOnly: true, allowFailure: true });
  if (info.code !== 0) return ['libvirt has no "default" network: nothing to disable'];
  const active = /^Active:\s+yes/m.test(info.stdout);
  const autostart = /^Autostart:\s+yes/m.test(info.stdout);
  if (active) {
    const users = await vmsOnNetwork(runner, virsh, 'default');
    if (users.length > 0) {
      throw new DefaultNetworkError(
        `libvirt's "default" network is in use by running VM(s) ${users.map((u) => JSON.stringify(u)).join(', ')}; stop them or move them to natnet-hook's bridge first`,
      );
    }
  }
  const done: string[] = [];
  if (active) {
    await runner.run(virsh('net-destroy', 'default'));
    done.push('destroyed libvirt network "default"');
  }
  if (autostart) {
    await runner.run(virsh('net-autostart', '--disable', 'default'));
    done.push('disabled autostart of libvirt network "default"');
  }
  if (done.length === 0) done.push('libvirt network "default" already inactive, no autostart');
  return done;
}

async function vmsOnNetwork(runner: Runner, virsh: (...a: string[]) => string[], net: string): Promise<string[]> {
  const list = await runner.run(virsh('list', '--name'), { readOnly: true });
  const vms = list.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const users: string[] = [];
  for (const vm of vms) {
    const ifs = await runner.run(virsh('domiflist', vm), { readOnly: true, allowFailure: true });
    // columns: Interface Type Source Model MAC
    if (ifs.stdout.split('\n').some((l) => l.trim().split(/\s+/)[1] === 'network' && l.trim().split(/\s+/)[2] === net)) users.push(vm);
  }
  return users;
}
