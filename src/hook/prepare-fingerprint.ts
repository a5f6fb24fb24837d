import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Lets a repeated `prepare` of an unchanged VM skip the engine (whose observe step spawns
 * ip/iptables/nft and costs ~50 ms while libvirtd waits). After a successful full prepare we
 * store a fingerprint of everything its result depends on; the next prepare skips the engine
 * only when all of it is unchanged AND the network is verifiably alive:
 *  - the domain XML (minus the run-time id= libvirt bumps on every start),
 *  - the config file and every leases.d file (inode, size, mtime),
 *  - each network's applied record (runDir/applied/<net>.json, rewritten by every up/down) and
 *    its dnsmasq hostsfile (any other VM's reservation change rewrites it),
 *  - the bridge exists and the recorded dnsmasq pid is a live dnsmasq.
 * Firewall rules are not re-checked here: restoring them after a flush is the listener's job.
 */
export interface FingerprintPaths {
  runDir: string;
  configPath: string;
  leasesDir: string;
}

export interface PrepareFingerprint {
  xml: string;
  config: string;
  leases: string;
  /** network name → keys of its applied record and hostsfile */
  applied: Record<string, string>;
}

function statKey(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

export function fingerprintFile(runDir: string, vm: string): string {
  return join(runDir, 'hook-prepared', `${encodeURIComponent(vm).replace(/\./g, '%2E')}.json`);
}

/** The XML itself, not a hash: loading node:crypto costs the hook's fast path ~3 ms. */
export function xmlDigest(xml: string): string {
  return xml.replace(/^(\s*<domain\b[^>]*?)\s+id=(['"])\d+\2/, '$1');
}

function leasesKey(dir: string): string {
  try {
    return readdirSync(dir)
      .sort()
      .map((n) => `${n}=${statKey(join(dir, n))}`)
      .join(';');
  } catch {
    return 'absent';
  }
}

function appliedFile(runDir: string, net: string): string {
  return join(runDir, 'applied', `${net}.json`); // engine/records.ts
}

function appliedRecord(runDir: string, net: string): { network?: { bridge?: string }; dnsmasq?: { pid?: string; hosts?: string } } | null {
  try {
    return JSON.parse(readFileSync(appliedFile(runDir, net), 'utf8'));
  } catch {
    return null;
  }
}

function hostsFileOf(runDir: string, net: string): string {
  return appliedRecord(runDir, net)?.dnsmasq?.hosts ?? '';
}

export function computeFingerprint(p: FingerprintPaths, xml: string, networks: string[]): PrepareFingerprint {
  const applied: Record<string, string> = {};
  for (const n of [...networks].sort()) applied[n] = `${statKey(appliedFile(p.runDir, n))} hosts ${statKey(hostsFileOf(p.runDir, n))}`;
  return { xml: xmlDigest(xml), config: statKey(p.configPath), leases: leasesKey(p.leasesDir), applied };
}

/** The network's bridge exists and its dnsmasq (pid from the applied record) is alive. */
export function networkAlive(runDir: string, net: string): boolean {
  try {
    const rec = appliedRecord(runDir, net);
    const bridge = rec?.network?.bridge;
    const pidFile = rec?.dnsmasq?.pid;
    if (!bridge || !pidFile || !existsSync(join('/sys/class/net', bridge))) return false;
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 1 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dnsmasq';
  } catch {
    return false;
  }
}

export function writeFingerprint(p: FingerprintPaths, vm: string, xml: string, networks: string[]): void {
  const file = fingerprintFile(p.runDir, vm);
  mkdirSync(join(p.runDir, 'hook-prepared'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(computeFingerprint(p, xml, networks))}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

export function forgetFingerprint(runDir: string, vm: string): void {
  try {
    unlinkSync(fingerprintFile(runDir, vm));
  } catch {
    // none
  }
}

/** True when this prepare would change nothing: same inputs as the last successful one, network alive. */
export function prepareUnchanged(p: FingerprintPaths, vm: string, xml: string, networks: string[]): boolean {
  if (networks.length === 0) return false;
  let stored: PrepareFingerprint;
  try {
    stored = JSON.parse(readFileSync(fingerprintFile(p.runDir, vm), 'utf8')) as PrepareFingerprint;
  } catch {
    return false;
  }
  const now = computeFingerprint(p, xml, networks);
  return JSON.stringify(now) === JSON.stringify(stored) && networks.every((n) => networkAlive(p.runDir, n));
}
