import { readFileSync } from 'node:fs';

export function readIpForward(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export function readPidFile(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return pid > 0 ? pid : null;
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

/** Is `pid` a dnsmasq started with our config file? */
export function isOurDnsmasq(pid: number, confPath: string): boolean {
  const argv = processArgv(pid);
  return !!argv && argv[0].endsWith('dnsmasq') && argv.includes(`--conf-file=${confPath}`);
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
