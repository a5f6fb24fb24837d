/** The commander wiring of every command. Loaded only when the fast path in cli.ts does not apply. */
import { Command, Option } from 'commander';
import type { ContextOptions } from './engine/context.js';
import { report } from './report.js';
import { VERSION } from './version.js';

/** Global options → context options. Commands import their module lazily so the hook path stays small. */
function globals(cmd: Command): ContextOptions {
  const o = cmd.optsWithGlobals() as { config?: string; stateDir?: string; dryRun?: boolean; verbose?: boolean };
  return { config: o.config, stateDir: o.stateDir, dryRun: o.dryRun, verbose: o.verbose };
}

async function context(cmd: Command, extra: Partial<ContextOptions> = {}) {
  const { makeContext } = await import('./engine/context.js');
  return makeContext({ ...globals(cmd), ...extra });
}

export function buildProgram(): Command {
  const program = new Command('natnet-hook')
    .description('A NAT network for libvirt VMs that the host owner controls')
    .version(VERSION, '-V, --version')
    .option('-c, --config <path>', 'config file (env NATNET_HOOK_CONFIG; default /etc/natnet-hook/config.toml)')
    .option('--state-dir <dir>', 'state directory instead of /run/natnet-hook + /var/lib/natnet-hook (env NATNET_HOOK_STATE_DIR)')
    .option('-n, --dry-run', 'print what would be done, change nothing')
    .option('-v, --verbose', 'debug logs')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('up [network]')
    .description('bring a network (default: all) to its configured state; idempotent')
    .action(async (network: string | undefined, _o, cmd: Command) => {
      const { runUp } = await import('./commands/up.js');
      await runUp(await context(cmd), network);
    });
  program
    .command('plan [network]')
    .description('show what `up` would do (same as up --dry-run)')
    .action(async (network: string | undefined, _o, cmd: Command) => {
      const { runUp } = await import('./commands/up.js');
      await runUp(await context(cmd, { dryRun: true }), network);
    });
  program
    .command('down [network]')
    .description('remove what `up` applied (rules, dnsmasq, dummy, bridge); leases are kept')
    .action(async (network: string | undefined, _o, cmd: Command) => {
      const { runDown } = await import('./commands/down.js');
      await runDown(await context(cmd), network);
    });
  program
    .command('status [network]')
    .description('show every piece and what is wrong; exit 4 when degraded')
    .option('--json', 'machine-readable output')
    .action(async (network: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const { runStatus } = await import('./commands/status.js');
      process.exitCode = await runStatus(await context(cmd, { quiet: true }), network, o);
    });

  const lease = program.command('lease').description('static DHCP reservations in leases.d/');
  lease
    .command('add <vm> <ip>')
    .description('reserve IP for VM (optionally pinned to MACs) and apply it live')
    .addOption(new Option('--mac <mac>', 'MAC of the VM (repeatable)').argParser((v: string, prev: string[] = []) => [...prev, v]))
    .option('--hostname <name>', 'DNS name (default: from the VM name)')
    .action(async (vm: string, ip: string, o: { mac?: string[]; hostname?: string }, cmd: Command) => {
      const { runLeaseAdd } = await import('./commands/lease.js');
      await runLeaseAdd(await context(cmd), vm, ip, o);
    });
  lease
    .command('rm <vm>')
    .description("remove the VM's leases.d file and apply it live")
    .action(async (vm: string, _o, cmd: Command) => {
      const { runLeaseRm } = await import('./commands/lease.js');
      await runLeaseRm(await context(cmd), vm);
    });
  lease
    .command('list')
    .description('every reservation with its source')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const { runLeaseList } = await import('./commands/lease.js');
      await runLeaseList(await context(cmd, { quiet: true }), o);
    });

  program
    .command('install')
    .description('install the libvirt hooks, default config, NetworkManager drop-in, modprobe/sysctl files and the listener unit')
    .option('--root <dir>', 'install below DIR instead of / (packaging, tests)')
    .option('--disable-libvirt-default-network', "destroy and un-autostart libvirt's default network (refused while a running VM uses it)")
    .option('--libvirt-uri <uri>', 'libvirt connection for --disable-libvirt-default-network')
    .action(async (o: { root?: string; disableLibvirtDefaultNetwork?: boolean; libvirtUri?: string }, cmd: Command) => {
      const { runInstall } = await import('./commands/install.js');
      await runInstall(await context(cmd), o);
    });
  program
    .command('uninstall')
    .description('remove everything install put in place and take our networks down; config stays unless --purge')
    .option('--root <dir>', 'the DIR given to install --root')
    .option('--purge', 'also remove /etc/natnet-hook and the lease database')
    .action(async (o: { root?: string; purge?: boolean }, cmd: Command) => {
      const { runUninstall } = await import('./commands/uninstall.js');
      await runUninstall(await context(cmd), o);
    });
  program
    .command('listen')
    .description('watch NetworkManager and firewalld on the system D-Bus and keep networks right (runs as a service)')
    .option('--interval <seconds>', 'periodic check interval (default 30; 0 = off; config [listener] interval)')
    .option('--firewalld-zone <zone>', 'firewalld zone for our bridges (default trusted; "none" = leave zones alone)')
    .action(async (o: { interval?: string; firewalldZone?: string }, cmd: Command) => {
      const { runListen } = await import('./commands/listen.js');
      await runListen(await context(cmd), o);
    });
  program
    .command('forget <vm>')
    .description("drop what the hooks recorded about a VM (MACs, <metadata> leases), e.g. after virsh undefine")
    .action(async (vm: string, _o, cmd: Command) => {
      const { runForget } = await import('./commands/forget.js');
      await runForget(await context(cmd), vm);
    });
  program
    .command('selftest')
    .description('build the default network in throw-away namespaces with two simulated VMs and check it')
    .addOption(new Option('--firewall <backend>', 'test this backend instead of the default choice').choices(['iptables', 'nftables', 'auto']))
    .action(async (o: { firewall?: 'iptables' | 'nftables' | 'auto' }, cmd: Command) => {
      const { runSelftest } = await import('./commands/selftest.js');
      process.exitCode = await runSelftest(await context(cmd), { firewall: o.firewall });
    });
  return program;
}


/** Parses argv with commander and runs the command; errors go through the one handler. */
export async function runProgram(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    process.exitCode = report(e);
  }
}
