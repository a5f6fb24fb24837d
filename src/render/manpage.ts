import { ExitCode } from '../errors.js';
import { LOG_FORMAT_ENV } from '../log/format.js';
import { COMMAND_TIMEOUT_VARIABLE, DEFAULT_COMMAND_TIMEOUT_SECONDS } from '../sys/command-timeout.js';
import { ALLOW_UNSAFE_DIRS_ENV } from '../state/trust.js';
import {
  DEFAULT_CONFIG,
  dnsmasqPaths,
  domainsDir,
  engineLogFile,
  hooksLogFile,
  INSTALL_MANIFEST,
  layoutOf,
  appliedDir,
} from '../state/layout.js';
import type { CommandSpec, OptionSpec, ProgramSpec } from './command-spec.js';
import { COMPLETION_FILES } from './completion.js';

/** Where packages put the man page, relative to the prefix (/usr); the build writes it below dist/. */
export const MAN_PAGE_FILE = 'share/man/man8/natnet-hook.8';

/** What each exit code means (the codes themselves are src/errors.ts's). */
const EXIT_MEANING: Record<keyof typeof ExitCode, string> = {
  ok: 'success; for `status`: every network is healthy',
  failure: 'a command failed (a tool, a file, the system); the message names it',
  usage: 'the command line is wrong, or what it names does not exist',
  config: 'the config, a leases.d file or a directory we read is unusable or unsafe; every problem is listed',
  degraded: '`status`: a network is degraded (something is missing or unexpected)',
  lock: 'another natnet-hook run holds the lock and did not let go in time',
};

/** Text as roff: backslashes escaped, a leading dot or quote neutralised, `code` in bold. */
function text(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .replace(/^([.'])/gm, '\\&$1');
}

function optionItem(o: OptionSpec): string[] {
  const names = o.names.map((n) => `\\fB${text(n)}\\fR`).join(', ');
  const value = o.value ? ` \\fI${text(o.value)}\\fR` : '';
  const choices = o.choices ? ` (one of: ${o.choices.map((c) => `\\fB${text(c)}\\fR`).join(', ')})` : '';
  return ['.TP', `${names}${value}`, `${text(o.description)}${choices}`];
}

function usage(name: string, c: CommandSpec): string {
  const [words, args] = [c.path.join(' '), c.usage.slice(c.path.join(' ').length).trim()];
  return `\\fB${text(`${name} ${words}`)}\\fR${args ? ` \\fI${text(args)}\\fR` : ''}${c.options.length ? ' [\\fIoptions\\fR]' : ''}`;
}

function commandItems(name: string, cs: CommandSpec[]): string[] {
  const out: string[] = [];
  for (const c of cs) {
    if (c.subcommands.length === 0) {
      out.push('.TP', usage(name, c), `${text(c.description)}.`);
      const args = c.arguments.filter((a) => a.choices);
      for (const a of args) out.push('.br', `\\fI${text(a.name)}\\fR: one of ${a.choices!.map((x) => `\\fB${text(x)}\\fR`).join(', ')}.`);
      if (c.options.length) {
        out.push('.RS');
        for (const o of c.options) out.push(...optionItem(o));
        out.push('.RE');
      }
    }
    out.push(...commandItems(name, c.subcommands));
  }
  return out;
}

/** natnet-hook(8), generated at build time from the commander definitions and the layout's default paths. */
export function renderManPage(spec: ProgramSpec): string {
  const name = spec.name;
  const l = layoutOf({}, {});
  const files: [string, string][] = [
    [DEFAULT_CONFIG, 'the config: networks, reservations, listener settings'],
    [l.leasesDir, 'one file of reservations per VM, as `lease add` writes them'],
    [appliedDir(l), 'what `up` applied, per network (volatile)'],
    [dnsmasqPaths(l, 'NETWORK').conf, "each network's dnsmasq config; its pid and hosts files beside it"],
    [dnsmasqPaths(l, 'NETWORK').leases, "each network's DHCP lease database, shown by `leases`"],
    [domainsDir(l), 'what the hooks learned about each VM (MACs, bridges)'],
    [hooksLogFile(l), 'what the libvirt hooks did (JSON lines)'],
    [engineLogFile(l), 'engine log'],
    [`/${INSTALL_MANIFEST}`, 'what `install` wrote, for `uninstall`'],
    [`/usr/${COMPLETION_FILES.bash}`, 'bash completion'],
    [`/usr/${COMPLETION_FILES.zsh}`, 'zsh completion'],
  ];
  const env: [string, string][] = [
    ['NATNET_HOOK_CONFIG', `the config file instead of ${DEFAULT_CONFIG} (\`--config\` wins)`],
    ['NATNET_HOOK_STATE_DIR', 'one directory for all state instead of the system paths (`--state-dir` wins)'],
    [LOG_FORMAT_ENV, '`human` or `json`: how log lines on standard error look (`--log-format` wins)'],
    [COMMAND_TIMEOUT_VARIABLE, `seconds an external command may run before it is killed (default ${DEFAULT_COMMAND_TIMEOUT_SECONDS})`],
    ['NATNET_HOOK_IPTABLES', '`nft` or `legacy`: the iptables variant to use instead of the detected one'],
    [ALLOW_UNSAFE_DIRS_ENV, '1 skips the ownership and permission check of the config and state directories (tests only)'],
    ['NATNET_HOOK_DEBUG', '1 adds the stack trace of an unexpected error, for a bug report'],
    ['JOURNAL_STREAM', 'set by systemd: when standard error is the journal, each line carries its syslog priority'],
  ];
  const L: string[] = [
    `.TH ${text(name.toUpperCase())} 8 "" "${text(`${name} ${spec.version}`)}" "System Administration"`,
    '.SH NAME',
    `${text(name)} \\- ${text(spec.description.replace(/^A /, 'a '))}`,
    '.SH SYNOPSIS',
    `.B ${text(name)}`,
    '[\\fIoptions\\fR] \\fIcommand\\fR [\\fIarguments\\fR]',
    '.SH DESCRIPTION',
    `\\fB${text(name)}\\fR gives libvirt VMs a NAT network that the host owns: a bridge with a dummy port, NAT rules (iptables or nftables) and a dnsmasq for DHCP and DNS with per\\-VM reservations.`,
    'The libvirt hooks bring a network up when a VM needs it and learn the VM\'s MACs; the listener (\\fBlisten\\fR, run by systemd) repairs what NetworkManager or firewalld undo.',
    '.PP',
    'Log lines go to standard error: plain lines on a terminal, JSON lines otherwise (see \\fB\\-\\-log\\-format\\fR). Every failure is one line naming the thing and the fix.',
    '.SH OPTIONS',
    'These options are taken before or after the command word (for \\fBhook\\fR: only \\fB\\-\\-config\\fR and \\fB\\-\\-state\\-dir\\fR, before it).',
    ...[...spec.globals, ...spec.programOnly].flatMap(optionItem),
    '.SH COMMANDS',
    ...commandItems(name, spec.commands),
    '.SH FILES',
    ...files.flatMap(([f, what]) => ['.TP', `.I ${text(f)}`, `${text(what)}.`]),
    '.SH EXIT STATUS',
    ...(Object.keys(ExitCode) as (keyof typeof ExitCode)[]).flatMap((k) => ['.TP', `.B ${ExitCode[k]}`, `${text(EXIT_MEANING[k])}.`]),
    '.SH ENVIRONMENT',
    ...env.flatMap(([v, what]) => ['.TP', `.B ${text(v)}`, `${text(what)}.`]),
    '.SH SEE ALSO',
    '.BR virsh (1),',
    '.BR libvirtd (8),',
    '.BR dnsmasq (8),',
    '.BR iptables (8),',
    '.BR nft (8),',
    '.BR systemd.exec (5)',
  ];
  return `${L.join('\n')}\n`;
}
