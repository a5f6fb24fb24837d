import { UsageError } from '../errors.js';
import { HOOK_GLOBALS, HOOK_KINDS, type Invocation, isHookKind } from './grammar.js';

/**
 * Runs `up` or `hook`, the two commands the fast path reads without commander; program.ts runs
 * them through here too. Modules load lazily: the hook path must not load the engine.
 */
export async function runFastCommand(inv: Invocation): Promise<void> {
  const [name] = inv.command;
  if (name === 'hook') {
    const extra = Object.keys(inv.globals).filter((k) => !HOOK_GLOBALS.has(k as keyof Invocation['globals']));
    if (extra.length > 0) throw new UsageError('hook takes only --config and --state-dir (it is what libvirt runs)');
    const [kind, ...libvirtArgs] = inv.operands;
    if (!isHookKind(kind)) throw new UsageError(`hook ${JSON.stringify(kind ?? '')}: expected ${HOOK_KINDS.join(' or ')}`);
    const { runHook } = await import('../commands/hook.js');
    process.exitCode = await runHook(kind, libvirtArgs, { config: inv.globals.config, stateDir: inv.globals.stateDir });
    return;
  }
  if (name === 'up') {
    const [{ makeContext }, { runUp }] = await Promise.all([import('../engine/context.js'), import('../commands/up.js')]);
    await runUp(makeContext(inv.globals), inv.operands[0]);
    return;
  }
  throw new UsageError(`${inv.command.join(' ')}: not a fast-path command`);
}
