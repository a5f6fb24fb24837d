import type { Argument, Command, Option } from 'commander';

/** One option as completion and the man page show it, read from commander's definition. */
export interface OptionSpec {
  flags: string;
  /** Every spelling: `-c`, `--config`. */
  names: string[];
  /** Placeholder of the value (`path`), or null for a flag. */
  value: string | null;
  choices: string[] | null;
  description: string;
}

export interface ArgumentSpec {
  name: string;
  required: boolean;
  variadic: boolean;
  choices: string[] | null;
  description: string;
}

export interface CommandSpec {
  /** ['lease', 'add'] */
  path: string[];
  /** `lease add <vm> <ip>` */
  usage: string;
  description: string;
  arguments: ArgumentSpec[];
  /** The command's own options (the global ones are the program's). */
  options: OptionSpec[];
  subcommands: CommandSpec[];
}

export interface ProgramSpec {
  name: string;
  description: string;
  version: string;
  /** Options every command takes (--config, --state-dir, ..., --help). */
  globals: OptionSpec[];
  /** Options of the program alone (--version). */
  programOnly: OptionSpec[];
  commands: CommandSpec[];
}

function optionSpec(o: Option): OptionSpec {
  const value = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? null;
  return {
    flags: o.flags,
    names: [o.short, o.long].filter((n): n is string => !!n),
    value,
    choices: o.argChoices ? [...o.argChoices] : null,
    description: o.description,
  };
}

function argumentSpec(a: Argument): ArgumentSpec {
  return { name: a.name(), required: a.required, variadic: a.variadic, choices: a.argChoices ? [...a.argChoices] : null, description: a.description };
}

function commandSpec(c: Command, parent: string[]): CommandSpec {
  const help = c.createHelp();
  const path = [...parent, c.name()];
  const args = c.registeredArguments.map(argumentSpec);
  const argText = args.map((a) => (a.required ? `<${a.name}${a.variadic ? '...' : ''}>` : `[${a.name}${a.variadic ? '...' : ''}]`));
  const subcommands = help
    .visibleCommands(c)
    .filter((s) => s.name() !== 'help')
    .map((s) => commandSpec(s, path));
  return {
    path,
    usage: [...path, ...argText].join(' '),
    description: c.description(),
    arguments: args,
    options: help
      .visibleOptions(c)
      .filter((o) => o.long !== '--help')
      .map(optionSpec),
    subcommands,
  };
}

/**
 * What completion and the man page are generated from: commander's own definition (visible
 * commands, their arguments and options), so neither keeps a list of its own.
 */
export function describeProgram(program: Command): ProgramSpec {
  const help = program.createHelp();
  const options = help.visibleOptions(program);
  // a global option is also defined (hidden) on the commands; --help is every command's
  const everywhere = (o: Option) => o.long === '--help' || program.commands.some((c) => c.options.some((x) => x.long === o.long));
  return {
    name: program.name(),
    description: program.description(),
    version: program.version() ?? '',
    globals: options.filter(everywhere).map(optionSpec),
    programOnly: options.filter((o) => !everywhere(o)).map(optionSpec),
    commands: help
      .visibleCommands(program)
      .filter((c) => c.name() !== 'help')
      .map((c) => commandSpec(c, [])),
  };
}

/** Every command, depth first (`lease`, `lease add`, ...). */
export function allCommands(spec: ProgramSpec): CommandSpec[] {
  const out: CommandSpec[] = [];
  const walk = (cs: CommandSpec[]) => {
    for (const c of cs) {
      out.push(c);
      walk(c.subcommands);
    }
  };
  walk(spec.commands);
  return out;
}
