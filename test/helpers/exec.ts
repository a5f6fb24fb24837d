import { spawn } from 'node:child_process';
import type { Exec, ExecResult } from '../../src/selftest/exec.js';

/** Tests' process starter: argv arrays via node:child_process, never a shell. */
export const exec: Exec = (argv, opts = {}) =>
  new Promise<ExecResult>((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const done = (code: number | null, extra = '') =>
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() + extra });
    child.on('error', (e) => done(127, String(e)));
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : null)));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
