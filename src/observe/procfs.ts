import { readdirSync, readFileSync } from 'node:fs';
import { FORWARDING4_KEY, readSysctl } from '../sys/sysctl.js';

export function readIpForward(): boolean {
  return readSysctl(FORWARDING4_KEY) === '1';
}

/** Linux's largest pid_max (PID_MAX_LIMIT). */
const PID_MAX = 4_194_304;

/** A pid number as a pid file or /proc names it: digits only, 1..PID_MAX; anything else is null. */
export function parsePid(text: string): number | null {
  if (!/^[0-9]{1,7}$/.test(text)) return null;
  const pid = Number(text);
  return pid >= 1 && pid <= PID_MAX ? pid : null;
}

/** A pid file's pid, or null when absent, empty or garbage. Only ever a hint: check the process before trusting it. */
export function readPidFile(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8');
    return text.length > 16 ? null : parsePid(text.trim());
  } catch {
    return null;
  }
}

/** argv of a live process, or null when it is gone (or a zombie). */
export function processArgv(pid: number): string[] | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return null;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** Is this argv a dnsmasq started with our config file? Pure. */
export function isDnsmasqWithConf(argv: string[], confPath: string): boolean {
  const prog = argv[0] ?? '';
  return (prog === 'dnsmasq' || prog.endsWith('/dnsmasq')) && argv.includes(`--conf-file=${confPath}`);
}

/** Is `pid` a live dnsmasq started with our config file? */
export function isOurDnsmasq(pid: number, confPath: string): boolean {
  const argv = processArgv(pid);
  return !!argv && isDnsmasqWithConf(argv, confPath);
}

/**
 * Our dnsmasq for a config file, identified by its argv in /proc (our `--conf-file=` path):
 * the pid file is only a hint, because dnsmasq writes it as 'nobody' and anything may empty
 * or rewrite it. Returns every such process (an orphan of an earlier run included), sorted.
 */
export function findOurDnsmasq(confPath: string, pidFileHint?: string): number[] {
  const hinted = pidFileHint ? readPidFile(pidFileHint) : null;
  if (hinted !== null && isOurDnsmasq(hinted, confPath)) return [hinted];
  return scanOurDnsmasq(confPath);
}

/** Every live process whose argv is a dnsmasq with our config file (a full /proc scan). */
export function scanOurDnsmasq(confPath: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const want = `--conf-file=${confPath}`;
  const out: number[] = [];
  for (const name of entries) {
    const pid = parsePid(name);
    if (pid === null) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    // cheap filter before splitting and the zombie check
    if (!cmd.includes(want)) continue;
    if (isOurDnsmasq(pid, confPath)) out.push(pid);
  }
  return out.sort((a, b) => a - b);
}

/** Does a process with this pid exist (EPERM: it does, it just is not ours)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
