import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
// already in the prefilter bundle (fast-record.ts), and node:fs only
import { writeFileAtomic } from '../apply/atomic-write.js';
import { appliedFile as appliedFileOf, dnsmasqPaths, fingerprintFile as fingerprintFileOf } from '../state/layout.js';
import { appliedRecord, object, string } from '../state/schema.js';
import { readRecord } from '../state/store.js';

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
  libDir: string;
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

/** The XML itself, not a hash: loading node:crypto costs the hook's fast path ~3 ms. Linear: only the first tag is searched. */
export function xmlDigest(xml: string): string {
  const gt = xml.indexOf('>');
  if (gt < 0 || !/^\s*<domain\b/.test(xml)) return xml;
  return xml.slice(0, gt).replace(/\sid=(['"])\d+\1/, '') + xml.slice(gt);
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

/** The network's bridge from its applied record, validated; null when absent or bad. */
function appliedBridge(runDir: string, net: string): string | null {
  const r = readRecord(appliedFile(runDir, net), (v) => appliedRecord(v, net));
  return r.kind === 'ok' ? r.value.network.bridge : null;
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
  for (const n of [...networks].sort()) applied[n] = `${statKey(appliedFile(p.runDir, n))} hosts ${statKey(dnsmasqPaths(p, n).hosts)}`;
  return { xml: xmlDigest(xml), config: inputs.config, leases: inputs.leases, applied };
}

/** The network's bridge exists and its dnsmasq (pid file at the layout's path) is alive. */
export function networkAlive(p: Pick<FingerprintPaths, 'runDir' | 'libDir'>, net: string): boolean {
  try {
    const bridge = appliedBridge(p.runDir, net);
    if (!bridge || !existsSync(join('/sys/class/net', bridge))) return false;
    const pid = Number.parseInt(readFileSync(dnsmasqPaths(p, net).pid, 'utf8'), 10);
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
  const stored = readRecord(fingerprintFile(p.runDir, vm), fingerprint);
  if (stored.kind !== 'ok') return false;
  const now = computeFingerprint(p, xml, networks);
  return JSON.stringify(now) === JSON.stringify(stored.value) && networks.every((n) => networkAlive(p, n));
}

/** A stored fingerprint's shape (it is only ever compared, never used to name anything). */
function fingerprint(v: unknown): PrepareFingerprint {
  const o = object(v, '');
  const applied = object(o.applied, '.applied');
  for (const [k, x] of Object.entries(applied)) string(x, `.applied[${JSON.stringify(k)}]`);
  return { xml: string(o.xml, '.xml'), config: string(o.config, '.config'), leases: string(o.leases, '.leases'), applied: applied as Record<string, string> };
}
