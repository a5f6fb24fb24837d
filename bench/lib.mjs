// Helpers shared by the benchmark files (never a shell: argv arrays only).
import { spawn } from 'node:child_process';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs argv to completion; resolves {code, stdout, stderr}, never rejects. */
export function exec(argv, { env = {}, input } = {}) {
  return new Promise((res) => {
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    child.on('error', (e) => res({ code: 127, stdout, stderr: String(e) }));
    child.on('close', (code) => res({ code, stdout, stderr }));
    if (input !== undefined) {
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}

/** A table row for a time measured against a baseline from the same run; met when value/baseline <= goal. */
export function ratioRow(name, value, baseline, goal) {
  return {
    name,
    value: round(value),
    unit: 'ms',
    baseline: round(baseline),
    ratio: round(value / baseline, 2),
    goal: `≤ ${goal}×`,
    ok: value / baseline <= goal,
  };
}
