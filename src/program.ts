/** The commander wiring of every command. Loaded only when the fast path in cli.ts does not apply. */
import { type Firewall, FIREWALLS } from './model/types.js';
import { Argument, Command, InvalidArgumentError, Option, type OutputConfiguration } from 'commander';
import { commanderFlags, GLOBAL_OPTIONS, type Globals, HOOK_KINDS, type Invocation, isRefusedValue } from './argv/grammar.js';
import { NatnetError } from './errors.js';
import { isJournalStream, journalPrefix } from './log/journal.js';
import { COMPLETION_SHELLS } from './render/completion.js';
import type { ContextOptions } from './engine/context.js';
import { report } from './report.js';
import { VERSION } from './version.js';

/** What an action does with what was parsed: runInvocation, or a recorder in tests. */
export type RunInvocation = (inv: Invocation) => Promise<void>;

export interface ProgramOptions {
  run?: RunInvocation;
  /** Where commander writes help and errors (tests silence it). */
  output?: OutputConfiguration;
}

const GLOBAL_KEYS = new Set<string>(GLOBAL_OPTIONS.map((o) => o.key));

/**
 * The global options from the one grammar. Every command gets them (hidden below the program)
 * because the program reads options only up to the command word: that lets `hook` pass libvirt's
 * argv through untouched while `up --dry-run` keeps working.
 */
function addGlobals(cmd: Command, hidden: boolean): Command {
  for (const o of GLOBAL_OPTIONS) {
    const opt = new Option(commanderFlags(o), o.description);
    if (o.choices) opt.choices(o.choices);
    else if (o.value) {
      opt.argParser((v: string) => {
        if (isRefusedValue(o, v)) throw new InvalidArgumentError('must not be empty');
        return v;
      });
    }
    cmd.addOption(hidden ? opt.hideHelp() : opt);
  }
  return cmd;
}

/** The command path, its operands, its own options and the global options (the last one given wins). */
function invocationOf(cmd: Command): Invocation {
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.unshift(c);
  const globals: Globals = {};
  const options: Record<string, unknown> = {};
  for (const c of chain) {
    for (const [k, v] of Object.entries(c.opts())) {
      if (v === undefined) continue;
      if (GLOBAL_KEYS.has(k)) Object.assign(globals, { [k]: v });
      else if (c === cmd) options[k] = v;
    }
  }
  return { command: chain.slice(1).map((c) => c.name()), operands: [...cmd.args], options, globals };
}

/** Runs what commander parsed. `up` and `hook` run exactly as on the fast path. */
export async function runInvocation(inv: Invocation): Promise<void> {
  const context = async (extra: Partial<ContextOptions> = {}) => {
    const { makeContext } = await import('./engine/context.js');
    return makeContext({ ...inv.globals, ...extra });
  };
  const [first, second] = inv.operands;
  const o = inv.options;
  switch (inv.command.join(' ')) {
    case 'up':
    case 'hook': {
      const { runFastCommand } = await import('./argv/run-fast.js');
      return runFastCommand(inv);
    }
    case 'plan': {
      const { runUp } = await import('./commands/up.js');
      return runUp(await context({ dryRun: true }), first);
    }
    case 'down': {
      const { runDown } = await import('./commands/down.js');
      return runDown(await context(), first, o as { force?: boolean });
    }
    case 'status': {
      const { runStatus } = await import('./commands/status.js');
      process.exitCode = await runStatus(await context({ quiet: true }), first, o as { json?: boolean });
      return;
    }
    case 'lease add': {
      const { runLeaseAdd } = await import('./commands/lease.js');
      return runLeaseAdd(await context(), first, second, o as { mac?: string[]; hostname?: string; ip6?: string });
    }
    case 'lease rm': {
      const { runLeaseRm } = await import('./commands/lease.js');
      return runLeaseRm(await context(), first);
    }
    case 'lease list': {
      const { runLeaseList } = await import('./commands/lease.js');
      return runLeaseList(await context({ quiet: true }), o as { json?: boolean });
    }
    case 'forward add': {
      const { runForwardAdd } = await import('./commands/forward.js');
      return runForwardAdd(await context(), first, second, o as { to?: string; listen?: string; source?: string[]; network?: string });
    }
    case 'forward rm': {
      const { runForwardRm } = await import('./commands/forward.js');
      return runForwardRm(await context(), first, second);
    }
    case 'forward list': {
      const { runForwardList } = await import('./commands/forward.js');
      return runForwardList(await context({ quiet: true }), o as { json?: boolean });
    }
    case 'leases': {
      const { runLeases } = await import('./commands/leases.js');
      return runLeases(await context({ quiet: true }), first, o as { json?: boolean });
    }
    case 'completion': {
      const { runCompletion } = await import('./commands/completion.js');
      return runCompletion(buildProgram(), first);
    }
    case 'complete-networks': {
      const { runCompleteNetworks } = await import('./commands/completion.js');
      return runCompleteNetworks(inv.globals);
    }
    case 'install': {
      const { runInstall } = await import('./commands/install.js');
      return runInstall(await context(), o as { root?: string; node?: string; package?: boolean; disableLibvirtDefaultNetwork?: boolean; libvirtUri?: string });
    }
    case 'uninstall': {
      const { runUninstall } = await import('./commands/uninstall.js');
      return runUninstall(await context(), o as { root?: string; purge?: boolean });
    }
    case 'reload': {
      const { runReload } = await import('./commands/reload.js');
      return runReload(await context(), first);
    }
    case 'listen': {
      const { runListen } = await import('./commands/listen.js');
      return runListen(await context(), o as { interval?: string; firewalldZone?: string });
    }
    case 'forget': {
      const { runForget } = await import('./commands/forget.js');
      return runForget(await context(), first);
    }
    case 'selftest': {
      const { runSelftest } = await import('./commands/selftest.js');
      process.exitCode = await runSelftest(await context(), o as { firewall?: Firewall });
      return;
    }
    default:
      throw new NatnetError(`no action for ${inv.command.join(' ')}`);
  }
}

export function buildProgram({ run = runInvocation, output }: ProgramOptions = {}): Command {
  const program = new Command('natnet-hook')
    .description('A NAT network for libvirt VMs that the host owner controls')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    // a usage error is one line like every other failure, pointing at the help
    .configureOutput({
      outputError: (text, write) =>
        write(`${isJournalStream(process.env) ? journalPrefix('error') : ''}natnet-hook: ${text.trim().replace(/^error: /, '')} (see natnet-hook --help)\n`),
      ...output,
    });
  addGlobals(program, false);

  const act = (...args: unknown[]) => run(invocationOf(args[args.length - 1] as Command));
  const command = (parent: Command, nameAndArgs: string, description: string) =>
    addGlobals(parent.command(nameAndArgs).description(description), true);

  command(program, 'up [network]', 'bring a network (default: all) to its configured state; idempotent').action(act);
  command(program, 'plan [network]', 'show what `up` would do (same as up --dry-run)').action(act);
  command(program, 'down [network]', 'remove what `up` applied (rules, dnsmasq, dummy, bridge); leases are kept')
    .option('--force', 'also when VMs are running on the network (they lose it); without it, down refuses and names them')
    .action(act);
  command(program, 'status [network]', 'show every piece and what is wrong; exit 4 when degraded')
    .option('--json', 'machine-readable output')
    .action(act);

  const lease = command(program, 'lease', 'static DHCP reservations in leases.d/');
  command(lease, 'add <vm> <ip>', 'reserve IP for VM (optionally pinned to MACs) and apply it live')
    .addOption(new Option('--mac <mac>', 'MAC of the VM (repeatable)').argParser((v: string, prev: string[] = []) => [...prev, v]))
    .option('--hostname <name>', 'DNS name (default: from the VM name)')
    .option('--ip6 <address>', 'also reserve this IPv6 address (DHCPv6; the network needs dhcpv6 = "stateful")')
    .action(act);
  command(lease, 'rm <vm>', "remove the VM's leases.d file and apply it live").action(act);
  command(lease, 'list', 'every reservation with its source').option('--json', 'machine-readable output').action(act);

  const forward = command(program, 'forward', "port forwards from the host's addresses to VMs (in leases.d/)");
  command(forward, 'add <vm> <port>', 'forward host PORT[/tcp|/udp] ("8080", "8000-8010/udp", "80,443") to the VM\'s reserved address, live')
    .option('--to <port>', 'port(s) on the VM (default: the same)')
    .option('--listen <address>', 'only this host address (default: every local address except the bridge\'s)')
    .addOption(new Option('--source <cidr>', 'allowed clients (repeatable; default: anyone)').argParser((v: string, prev: string[] = []) => [...prev, v]))
    .option('--network <name>', 'the network of the VM\'s reservation, when it has several')
    .action(act);
  command(forward, 'rm <vm> <port>', 'remove the forward of host PORT[/tcp|/udp] live').action(act);
  command(forward, 'list', 'every port forward with its target and source').option('--json', 'machine-readable output').action(act);

  command(program, 'leases [network]', 'the active DHCP leases by VM: MAC, IP, hostname, expiry (local time), reserved or pool')
    .option('--json', 'machine-readable output')
    .action(act);

  command(program, 'completion', 'print the completion script for bash or zsh (the packages install it)')
    .addArgument(new Argument('<shell>', 'which shell').choices(COMPLETION_SHELLS))
    .action(act);
  // what the completion scripts run to offer network names: the configured ones, or nothing
  addGlobals(program.command('complete-networks', { hidden: true }), true).action(act);

  command(program, 'install', 'copy this runtime to /usr/lib/natnet-hook and install the libvirt hooks, default config, NetworkManager drop-in, modprobe/sysctl files and the listener unit')
    .option('--root <dir>', 'install below DIR instead of / (packaging, tests)')
    .option('--node <path>', "node by absolute path for the hooks' #! line and the unit (default: /usr/bin/node when >= 20, else the running node)")
    .option('--package', 'lay out only what a distribution package ships (runtime, /usr/sbin link, unit in usr/lib/systemd/system); needs --root')
    .option('--disable-libvirt-default-network', "destroy and un-autostart libvirt's default network (refused while a running VM uses it)")
    .option('--libvirt-uri <uri>', 'libvirt connection for --disable-libvirt-default-network')
    .action(act);
  command(program, 'uninstall', 'take our networks down and remove everything install put in place (runtime included); config stays unless --purge')
    .option('--root <dir>', 'the DIR given to install --root')
    .option('--purge', 'also remove the config install wrote (or the default one), leases.d/, the state and the logs')
    .action(act);
  command(program, 'reload [network]', 'validate the config, then have the networks that are up adopt it (through the running listener, else directly)').action(act);
  command(program, 'listen', 'watch NetworkManager and firewalld on the system D-Bus and keep networks right (runs as a service)')
    .option('--interval <seconds>', 'periodic check interval (default 30; 0 = off; config [listener] interval)')
    .option('--firewalld-zone <zone>', 'firewalld zone for our bridges (default trusted; "none" = leave zones alone)')
    .action(act);
  command(program, 'forget <vm>', 'drop what the hooks recorded about a VM (MACs, <metadata> leases), e.g. after virsh undefine').action(act);
  command(program, 'selftest', 'build the default network in throw-away namespaces with two simulated VMs and check it')
    .addOption(new Option('--firewall <backend>', 'test this backend instead of the default choice').choices(FIREWALLS))
    .action(act);

  // libvirt's argv after the kind is passed through untouched (a VM may be called `-v`)
  program
    .command('hook')
    .description('what the installed libvirt hooks run (domain or <hookData> XML on stdin); takes only --config and --state-dir, before `hook`')
    .addArgument(new Argument('<kind>', 'which libvirt hook').choices(HOOK_KINDS))
    .argument('[libvirt-args...]', 'OBJECT OPERATION SUB-OP EXTRA as libvirt passes them')
    .passThroughOptions()
    .action(act);
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
