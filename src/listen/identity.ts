/**
 * Is a pid (read from the listener's status file, so untrusted) our listener for this state dir?
 * Checked against /proc before it is sent a signal: a stale pid may now be any other process.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { layoutOf } from '../state/layout.js';
import { processArgv } from '../observe/procfs.js';
import { looseGlobals } from '../argv/fast.js';

const PROGRAM = 'natnet-hook';
/** node as the bin's interpreter (shebang or the unit's absolute node path). */
const NODE = /^node(js)?[0-9.]*$/;

/** The --state-dir of an argv (either form; the last one wins, as in the parsers), or undefined. */
export function stateDirArg(argv: string[]): string | undefined {
  return looseGlobals(argv).stateDir;
}

/**
 * Pure: is this argv `natnet-hook ... listen` (run directly or by node) whose state lives in
 * `runDir`? `env` is the process's environment (NATNET_HOOK_STATE_DIR), `cwd` its working dir.
 */
export function isListenerFor(argv: string[], env: NodeJS.ProcessEnv, cwd: string, runDir: string): boolean {
  const prog = basename(argv[0] ?? '') === PROGRAM ? 0 : NODE.test(basename(argv[0] ?? '')) && basename(argv[1] ?? '') === PROGRAM ? 1 : -1;
  if (prog < 0 || !argv.slice(prog + 1).includes('listen')) return false;
  const arg = stateDirArg(argv.slice(prog + 1));
  const dir = arg ?? env.NATNET_HOOK_STATE_DIR;
  const stateDir = dir === undefined || dir === '' ? undefined : isAbsolute(dir) ? dir : resolve(cwd, dir);
  return layoutOf({ stateDir }, {}).runDir === runDir;
}

/** NUL-separated KEY=VALUE of /proc/<pid>/environ; {} when unreadable. */
function processEnv(pid: number): NodeJS.ProcessEnv {
  try {
    const env: NodeJS.ProcessEnv = {};
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return env;
  } catch {
    return {};
  }
}

function processCwd(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '/';
  }
}

/** The live process `pid` is our listener for this run dir. */
export function isOurListener(pid: number, runDir: string): boolean {
  const argv = processArgv(pid);
  return !!argv && isListenerFor(argv, processEnv(pid), processCwd(pid), runDir);
}
