import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
// already in the prefilter bundle (fast-record.ts), and node:fs only
import { writeFileAtomic } from '../apply/atomic-write.js';
import { appliedFile as appliedFileOf, fingerprintFile as fingerprintFileOf } from '../state/layout.js';

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
 * The config and leases.d keys are taken BEFORE the engine loads them (configInputs): an edit
 * that lands between that load and the write of the fingerprint must not be recorded as applied.
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
  return fingerprintFileOf({ runDir }, vm);
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
  return appliedFileOf({ runDir }, net);
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

/** What the engine's config load reads: take it before calling `up`, pass it to writeFingerprint. */
export interface ConfigInputs {
  config: string;
  leases: string;
}

export function configInputs(p: FingerprintPaths): ConfigInputs {
  return { config: statKey(p.configPath), leases: leasesKey(p.leasesDir) };
}

/** `inputs`: the config keys as they were before `up` loaded them (default: now, for comparing). */
export function computeFingerprint(p: FingerprintPaths, xml: string, networks: string[], inputs = configInputs(p)): PrepareFingerprint {
  const applied: Record<string, string> = {};
  for (const n of [...networks].sort()) applied[n] = `${statKey(appliedFile(p.runDir, n))} hosts ${statKey(hostsFileOf(p.runDir, n))}`;
  return { xml: xmlDigest(xml), config: inputs.config, leases: inputs.leases, applied };
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

/** After a successful `up`; `inputs` from configInputs() taken before it. */
export function writeFingerprint(p: FingerprintPaths, vm: string, xml: string, networks: string[], inputs: ConfigInputs): void {
  writeFileAtomic(fingerprintFile(p.runDir, vm), `${JSON.stringify(computeFingerprint(p, xml, networks, inputs))}\n`, 0o644);
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
