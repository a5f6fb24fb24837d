import { allCommands, type ArgumentSpec, type CommandSpec, type OptionSpec, type ProgramSpec } from './command-spec.js';

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** Where packages put the generated files, relative to the prefix (/usr); the build writes them below dist/. */
export const COMPLETION_FILES: Record<CompletionShell, string> = {
  bash: 'share/bash-completion/completions/natnet-hook',
  zsh: 'share/zsh/vendor-completions/_natnet-hook',
};

/** The hidden command the scripts run for network names (src/program.ts). */
export const NETWORKS_COMMAND = 'complete-networks';

/** What a value is completed with, judged from the definition: its choices, its placeholder, or the argument's name. */
type ValueKind = { kind: 'choices'; words: string[] } | { kind: 'files' } | { kind: 'dirs' } | { kind: 'networks' } | { kind: 'none' };

function valueKind(name: string | null, choices: string[] | null): ValueKind {
  if (choices) return { kind: 'choices', words: choices };
  if (name === 'path' || name === 'file') return { kind: 'files' };
  if (name === 'dir') return { kind: 'dirs' };
  if (name === 'network') return { kind: 'networks' };
  return { kind: 'none' };
}

const argKind = (a: ArgumentSpec) => valueKind(a.name, a.choices);
const optKind = (o: OptionSpec) => valueKind(o.value, o.choices);

/** A word in single quotes for bash and zsh. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const key = (c: CommandSpec | null) => (c ? c.path.join(' ') : '');

function header(spec: ProgramSpec, shell: CompletionShell): string {
  return `# ${shell} completion for ${spec.name} ${spec.version}, generated from its command definitions\n# (\`${spec.name} completion ${shell}\`); do not edit\n`;
}

/** bash: `complete -F`; command words, options and their values from the definition, network names from the config. */
export function renderBashCompletion(spec: ProgramSpec): string {
  const cmds = allCommands(spec);
  const nodes: (CommandSpec | null)[] = [null, ...cmds];
  const subsOf = (c: CommandSpec | null) => (c ? c.subcommands : spec.commands);
  const optsOf = (c: CommandSpec | null) => [...(c ? c.options : spec.programOnly), ...spec.globals];
  const valued = (c: CommandSpec | null) => optsOf(c).filter((o) => o.value);
  const configNames = spec.globals.find((o) => o.names.includes('--config'))?.names ?? [];
  const fn = `_${spec.name.replace(/\W/g, '_')}`;

  const compgen = (k: ValueKind, indent: string): string => {
    switch (k.kind) {
      case 'choices':
        return `${indent}mapfile -t COMPREPLY < <(compgen -W ${sq(k.words.join(' '))} -- "$cur")`;
      case 'files':
        return `${indent}compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur")`;
      case 'dirs':
        return `${indent}compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur")`;
      case 'networks':
        return `${indent}${fn}_networks "$cfg"`;
      case 'none':
        return `${indent}:`;
    }
  };

  const L: string[] = [header(spec, 'bash')];
  L.push(`${fn}_networks() {`);
  L.push(`  local n`);
  L.push(`  local -a argv=(${spec.name})`);
  L.push(`  [[ -n $1 ]] && argv+=(--config "$1")`);
  L.push(`  # names only: a config could say anything, the shell must not run or expand it`);
  L.push(`  while IFS= read -r n; do`);
  L.push(`    [[ $n =~ ^[A-Za-z0-9_.-]+$ && $n == "$cur"* ]] && COMPREPLY+=("$n")`);
  L.push(`  done < <("\${argv[@]}" ${NETWORKS_COMMAND} 2>/dev/null)`);
  L.push(`}`, '');

  L.push(`${fn}_is_command() {`, `  case "$1" in`);
  L.push(`    ${cmds.map((c) => sq(key(c))).join('|')}) return 0 ;;`);
  L.push(`  esac`, `  return 1`, `}`, '');

  L.push(`${fn}_takes_value() {`, `  case "$1|$2" in`);
  for (const c of nodes) {
    const own = (c ? c.options : spec.globals).filter((o) => o.value).flatMap((o) => o.names);
    if (own.length) L.push(`    ${own.map((n) => (c ? sq(`${key(c)}|${n}`) : `*${sq(`|${n}`)}`)).join('|')}) return 0 ;;`);
  }
  L.push(`  esac`, `  return 1`, `}`, '');

  L.push(`${fn}() {`);
  L.push(`  local cur=\${COMP_WORDS[COMP_CWORD]} prev= path= cfg= npos=0 i w`);
  L.push(`  (( COMP_CWORD > 0 )) && prev=\${COMP_WORDS[COMP_CWORD-1]}`);
  L.push(`  COMPREPLY=()`);
  L.push(`  for (( i = 1; i < COMP_CWORD; i++ )); do`);
  L.push(`    w=\${COMP_WORDS[i]}`);
  L.push(`    case $w in`);
  for (const n of configNames.filter((x) => x.startsWith('--'))) L.push(`      ${sq(`${n}=`)}*) cfg=\${w#${n}=} ;;`);
  L.push(`      -*=*) ;;`);
  L.push(`      -*)`);
  L.push(`        if ${fn}_takes_value "$path" "$w"; then`);
  if (configNames.length) L.push(`          case $w in ${configNames.map(sq).join('|')}) cfg=\${COMP_WORDS[i+1]} ;; esac`);
  L.push(`          (( i++ ))`);
  L.push(`        fi ;;`);
  L.push(`      *)`);
  L.push(`        if (( npos == 0 )) && ${fn}_is_command "\${path:+$path }$w"; then path=\${path:+$path }$w; else (( npos++ )); fi ;;`);
  L.push(`    esac`);
  L.push(`  done`);
  L.push('');
  L.push(`  # the value of an option`);
  L.push(`  case "$path|$prev" in`);
  for (const c of nodes) {
    for (const o of valued(c).filter((x) => !spec.globals.includes(x) || c === null)) {
      const pats = o.names.map((n) => (c ? sq(`${key(c)}|${n}`) : `*${sq(`|${n}`)}`)).join('|');
      L.push(`    ${pats})`, compgen(optKind(o), '      '), '      return ;;');
    }
  }
  L.push(`  esac`);
  L.push('');
  L.push(`  if [[ $cur == -* ]]; then`);
  L.push(`    case "$path" in`);
  for (const c of nodes) {
    const words = [...new Set(optsOf(c).flatMap((o) => o.names))].join(' ');
    L.push(`      ${sq(key(c))}) mapfile -t COMPREPLY < <(compgen -W ${sq(words)} -- "$cur") ;;`);
  }
  L.push(`    esac`);
  L.push(`    return`);
  L.push(`  fi`);
  L.push('');
  L.push(`  # a command word, or the command's arguments`);
  L.push(`  case "$path|$npos" in`);
  for (const c of nodes) {
    const subs = subsOf(c);
    if (subs.length) {
      L.push(`    ${sq(`${key(c)}|0`)}) mapfile -t COMPREPLY < <(compgen -W ${sq(subs.map((s) => s.path.at(-1)).join(' '))} -- "$cur") ;;`);
      continue;
    }
    (c?.arguments ?? []).forEach((a, i) => {
      const k = argKind(a);
      if (k.kind === 'none' || a.variadic) return;
      L.push(`    ${sq(`${key(c)}|${i}`)})`, compgen(k, '      '), '      ;;');
    });
  }
  L.push(`  esac`);
  L.push(`}`, '');
  L.push(`complete -F ${fn} ${spec.name}`, '');
  return L.join('\n');
}

/** zsh: one `_arguments` function per command; `#compdef`, for a directory on $fpath. */
export function renderZshCompletion(spec: ProgramSpec): string {
  const fn = `_${spec.name.replace(/\W/g, '_')}`;
  const fnOf = (c: CommandSpec | null) => (c ? `${fn}_${c.path.join('_').replace(/\W/g, '_')}` : fn);
  const desc = (s: string) => s.replace(/\\/g, '\\\\').replace(/[[\]:]/g, (m) => `\\${m}`);
  const action = (k: ValueKind): string => {
    switch (k.kind) {
      case 'choices':
        return `(${k.words.join(' ')})`;
      case 'files':
        return '_files';
      case 'dirs':
        return '_files -/';
      case 'networks':
        return `${fn}_networks`;
      case 'none':
        return ' ';
    }
  };
  const optSpecs = (opts: OptionSpec[]) =>
    opts.flatMap((o) => o.names.map((n) => sq(`${n}[${desc(o.description)}]${o.value ? `:${o.value}:${action(optKind(o))}` : ''}`)));
  const L: string[] = [`#compdef ${spec.name}`, header(spec, 'zsh')];
  L.push(`${fn}_networks() {`);
  L.push(`  local -a nets expl`);
  L.push(`  nets=(\${(f)"$(_call_program networks ${spec.name} ${NETWORKS_COMMAND} 2>/dev/null)"})`);
  L.push(`  # names only: a config could say anything`);
  L.push(`  nets=(\${nets:#*[^A-Za-z0-9_.-]*})`);
  L.push(`  _wanted networks expl network compadd -a nets`);
  L.push(`}`, '');
  L.push(`${fn}_globals=(`, ...optSpecs(spec.globals).map((s) => `  ${s}`), `)`, '');
  const emit = (c: CommandSpec | null) => {
    const subs = c ? c.subcommands : spec.commands;
    const own = optSpecs(c ? c.options : spec.programOnly);
    L.push(`${fnOf(c)}() {`);
    if (subs.length) {
      L.push(`  local curcontext=$curcontext state line`);
      L.push(`  local -a cmds`);
      L.push(`  _arguments -C "\${${fn}_globals[@]}" ${[...own, sq('1: :->cmd'), sq('*:: :->args')].join(' ')}`);
      L.push(`  case $state in`);
      L.push(`    cmd)`);
      L.push(`      cmds=(${subs.map((s) => sq(`${s.path.at(-1)}:${s.description}`)).join(' ')})`);
      L.push(`      _describe -t commands command cmds ;;`);
      L.push(`    args)`);
      L.push(`      case $line[1] in`);
      for (const s of subs) L.push(`        ${sq(s.path.at(-1) ?? '')}) ${fnOf(s)} ;;`);
      L.push(`      esac ;;`);
      L.push(`  esac`);
    } else {
      const args = (c?.arguments ?? []).map((a, i) =>
        sq(a.variadic ? `*::${a.name}:${action(argKind(a))}` : `${i + 1}:${a.required ? '' : ':'}${a.name}:${action(argKind(a))}`),
      );
      L.push(`  _arguments "\${${fn}_globals[@]}" ${[...own, ...args].join(' ')}`);
    }
    L.push(`}`, '');
    for (const s of subs) emit(s);
  };
  emit(null);
  L.push(`${fn} "$@"`, '');
  return L.join('\n');
}

export function renderCompletion(spec: ProgramSpec, shell: CompletionShell): string {
  return shell === 'bash' ? renderBashCompletion(spec) : renderZshCompletion(spec);
}
