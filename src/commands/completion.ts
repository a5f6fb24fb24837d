import type { Command } from 'commander';
import type { Globals } from '../argv/grammar.js';
import { describeProgram } from '../render/command-spec.js';
import { COMPLETION_SHELLS, type CompletionShell, renderCompletion } from '../render/completion.js';
import { UsageError } from '../errors.js';
import { silentLogger } from '../log.js';

/** `completion bash|zsh`: the script, generated from the program's own definition. */
export function runCompletion(program: Command, shell: string | undefined): void {
  if (!(COMPLETION_SHELLS as readonly (string | undefined)[]).includes(shell)) {
    throw new UsageError(`completion ${JSON.stringify(shell ?? '')}: expected ${COMPLETION_SHELLS.join(' or ')}`);
  }
  process.stdout.write(renderCompletion(describeProgram(program), shell as CompletionShell));
}

/** What the completion scripts run on TAB: the configured network names, one a line; nothing when the config cannot be read. */
export async function runCompleteNetworks(globals: Globals): Promise<void> {
  try {
    const [{ makeContext }, { loadConfig }] = await Promise.all([import('../engine/context.js'), import('../config/load.js')]);
    const config = loadConfig(makeContext({ config: globals.config, stateDir: globals.stateDir, log: silentLogger() }));
    process.stdout.write(config.networks.map((n) => `${n.name}\n`).join(''));
  } catch {
    // a TAB shows no error
  }
}
