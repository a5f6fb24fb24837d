import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/program.js';
import { allCommands, describeProgram } from '../../src/render/command-spec.js';
import { renderBashCompletion, renderZshCompletion } from '../../src/render/completion.js';
import { renderManPage } from '../../src/render/manpage.js';
import { ExitCode } from '../../src/errors.js';
import { DEFAULT_CONFIG, DEFAULT_LOG_DIR } from '../../src/state/layout.js';
import { hasBinary } from '../helpers/requirements.js';

const spec = describeProgram(buildProgram());
const runner = join(new URL('.', import.meta.url).pathname, 'complete-bash.sh');

describe('the command spec is read from commander', () => {
  it('every visible command, nested ones by path; the hidden helper is not listed', () => {
    const paths = allCommands(spec).map((c) => c.path.join(' '));
    expect(paths).toEqual(expect.arrayContaining(['up', 'lease', 'lease add', 'lease list', 'leases', 'completion', 'hook']));
    expect(paths).not.toContain('complete-networks');
    expect(paths).not.toContain('help');
  });
  it('global options apart from the program-only --version', () => {
    expect(spec.globals.flatMap((o) => o.names)).toEqual(expect.arrayContaining(['--config', '--state-dir', '--log-format', '--help']));
    expect(spec.programOnly.flatMap((o) => o.names)).toEqual(['-V', '--version']);
    expect(spec.globals.find((o) => o.names.includes('--log-format'))?.choices).toEqual(['human', 'json']);
  });
});

describe('bash completion', () => {
  let dir: string;
  let script: string;
  let path: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'natnet-compl-'));
    script = join(dir, 'natnet-hook.bash');
    writeFileSync(script, renderBashCompletion(spec));
    // a stand-in natnet-hook on PATH for the network names: one good name, one a shell must not run
    mkdirSync(join(dir, 'bin'));
    const fake = join(dir, 'bin', 'natnet-hook');
    writeFileSync(fake, "#!/bin/sh\necho natnet\necho 'x$(touch pwned)'\necho lab2\n");
    chmodSync(fake, 0o755);
    path = `${join(dir, 'bin')}:${process.env.PATH}`;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const complete = (...words: string[]) => {
    const r = spawnSync('bash', ['--norc', '--noprofile', runner, script, '_natnet_hook', ...words], { encoding: 'utf8', cwd: dir, env: { PATH: path } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  };

  it('is valid bash', () => {
    execFileSync('bash', ['-n', script]);
  });
  it('natnet-hook le<TAB>', () => {
    expect(complete('natnet-hook', 'le')).toEqual(['lease', 'leases']);
  });
  it('natnet-hook lease <TAB>', () => {
    expect(complete('natnet-hook', 'lease', '')).toEqual(['add', 'rm', 'list']);
  });
  it('options of the command, with the global ones; --version only before a command', () => {
    expect(complete('natnet-hook', 'lease', 'list', '--j')).toEqual(['--json']);
    expect(complete('natnet-hook', 'status', '--')).toContain('--log-format');
    expect(complete('natnet-hook', 'status', '--')).not.toContain('--version');
    expect(complete('natnet-hook', '--v')).toEqual(['--version', '--verbose']);
  });
  it('option values from the definition: choices, directories; none where nothing is known', () => {
    expect(complete('natnet-hook', '--log-format', '')).toEqual(['human', 'json']);
    expect(complete('natnet-hook', 'selftest', '--firewall', 'n')).toEqual(['nftables']);
    expect(complete('natnet-hook', 'lease', 'add', '--mac', '')).toEqual([]);
    expect(complete('natnet-hook', 'completion', '')).toEqual(['bash', 'zsh']);
    expect(complete('natnet-hook', 'hook', '')).toEqual(['qemu', 'network']);
  });
  it('an option value is not taken for the command word', () => {
    expect(complete('natnet-hook', '-c', 'lease', 'lease', '')).toEqual(['add', 'rm', 'list']);
  });
  it('network names from natnet-hook, only plain names', () => {
    expect(complete('natnet-hook', 'up', '')).toEqual(['natnet', 'lab2']);
    expect(complete('natnet-hook', '--config', '/x.toml', 'leases', 'n')).toEqual(['natnet']);
    expect(complete('natnet-hook', 'up', 'natnet', '')).toEqual([]);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });
});

describe('zsh completion', () => {
  const text = renderZshCompletion(spec);
  it('is a #compdef file with a function per command', () => {
    expect(text.startsWith('#compdef natnet-hook\n')).toBe(true);
    for (const c of allCommands(spec)) expect(text).toContain(`_natnet_hook_${c.path.join('_')}()`);
    expect(text).toContain("'1::network:_natnet_hook_networks'");
    expect(text).toContain(':format:(human json)');
  });
  it.skipIf(!hasBinary('zsh'))(`parses in zsh -n${hasBinary('zsh') ? '' : ' [SKIPPED: needs zsh (apt package zsh)]'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'natnet-zsh-'));
    try {
      writeFileSync(join(dir, '_natnet-hook'), text);
      execFileSync('zsh', ['-n', join(dir, '_natnet-hook')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('natnet-hook(8)', () => {
  const page = renderManPage(spec);
  it('has the sections, every command and option, the default paths and exit codes', () => {
    for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'COMMANDS', 'FILES', 'EXIT STATUS', 'ENVIRONMENT', 'SEE ALSO']) {
      expect(page).toMatch(new RegExp(`^\\.SH ${s}$`, 'm'));
    }
    for (const c of allCommands(spec).filter((x) => x.subcommands.length === 0)) expect(page).toContain(`natnet\\-hook ${c.path.join(' ')}`);
    expect(page).toContain('\\fB\\-\\-log\\-format\\fR');
    expect(page).toContain(DEFAULT_CONFIG.replace(/-/g, '\\-'));
    expect(page).toContain(`${DEFAULT_LOG_DIR.replace(/-/g, '\\-')}/hooks.log`);
    for (const code of Object.values(ExitCode)) expect(page).toContain(`.B ${code}\n`);
    expect(page).toContain('NATNET_HOOK_LOG_FORMAT');
  });
  it.skipIf(!hasBinary('groff'))(`groff renders it without a warning${hasBinary('groff') ? '' : ' [SKIPPED: needs groff (apt package groff-base)]'}`, () => {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: page, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
