/**
 * The ONE home of every path natnet-hook reads or writes. No project imports: the hook's
 * CommonJS prefilter bundle, the engine, the listener, install and the tests all use it.
 * Paths are derived from the config path, the state dir and validated names (network names,
 * VM names through fileStem) — never taken from a record read back from disk.
 */
import { dirname, join, resolve } from 'node:path';

export const DEFAULT_CONFIG = '/etc/natnet-hook/config.toml';
export const DEFAULT_RUN_DIR = '/run/natnet-hook';
export const DEFAULT_LIB_DIR = '/var/lib/natnet-hook';
export const DEFAULT_LOG_DIR = '/var/log/natnet-hook';

export interface LayoutOptions {
  config?: string;
  stateDir?: string;
}

/** Where one invocation's files live. */
export interface Layout {
  configPath: string;
  /** Per-VM lease files: always beside the config file in use. */
  leasesDir: string;
  /** --state-dir / NATNET_HOOK_STATE_DIR, or null for the system paths. */
  stateDir: string | null;
  /** Volatile state: pid files, applied records, caches (/run/natnet-hook). */
  runDir: string;
  /** Persistent state: dnsmasq lease files, domain records (/var/lib/natnet-hook). */
  libDir: string;
  /** hooks.log, engine.log (/var/log/natnet-hook). */
  logDir: string;
}

/** --config > NATNET_HOOK_CONFIG > default; --state-dir > NATNET_HOOK_STATE_DIR > /run, /var/lib, /var/log. */
export function layoutOf(opts: LayoutOptions = {}, env: NodeJS.ProcessEnv = process.env): Layout {
  const configPath = resolve(opts.config ?? env.NATNET_HOOK_CONFIG ?? DEFAULT_CONFIG);
  const sd = opts.stateDir ?? env.NATNET_HOOK_STATE_DIR;
  const stateDir = sd ? resolve(sd) : null;
  return {
    configPath,
    leasesDir: join(dirname(configPath), 'leases.d'),
    stateDir,
    runDir: stateDir ? join(stateDir, 'run') : DEFAULT_RUN_DIR,
    libDir: stateDir ? join(stateDir, 'lib') : DEFAULT_LIB_DIR,
    logDir: stateDir ? join(stateDir, 'log') : DEFAULT_LOG_DIR,
  };
}

type RunDir = Pick<Layout, 'runDir'>;
type LibDir = Pick<Layout, 'libDir'>;
type LogDir = Pick<Layout, 'logDir'>;

/** File names longer than this (in bytes) are hashed: NAME_MAX is 255 and temp files add a suffix. */
export const MAX_STEM_BYTES = 200;

/** 128 bits from four seeded FNV-1a passes: no node:crypto in the hook's fast path. */
export function nameHash(text: string): string {
  let out = '';
  for (const seed of [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b]) {
    let h = seed >>> 0;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}

/**
 * A VM (or other free-form) name as a safe, reversible file stem; names whose encoding would
 * exceed MAX_STEM_BYTES become a readable prefix plus a hash (the record inside names the VM).
 */
export function fileStem(name: string): string {
  const enc = encodeURIComponent(name.normalize('NFC')).replace(/\./g, '%2E');
  if (enc.length <= MAX_STEM_BYTES) return enc;
  return `${enc.slice(0, 96).replace(/%[0-9A-F]?$/, '')}~${nameHash(name.normalize('NFC'))}`;
}

// ---- volatile state (runDir) ----
export const appliedDir = (l: RunDir) => join(l.runDir, 'applied');
/** What `up` applied for one network (engine/records.ts). */
export const appliedFile = (l: RunDir, network: string) => join(appliedDir(l), `${network}.json`);
/** Host-wide changes of `up` (ip_forward, iptables-nft tables) that the last `down` puts back (engine/records.ts). */
export const hostChangesFile = (l: RunDir) => join(l.runDir, 'host-changes.json');
export const dnsmasqDir = (l: RunDir) => join(l.runDir, 'dnsmasq');
export const fingerprintsDir = (l: RunDir) => join(l.runDir, 'hook-prepared');
/** A successful prepare's inputs, so an unchanged VM's next prepare skips the engine. */
export const fingerprintFile = (l: RunDir, vm: string) => join(fingerprintsDir(l), `${fileStem(vm)}.json`);
/** The configured networks (name, bridge), cached for the hook's fast path. */
export const networkCacheFile = (l: RunDir) => join(l.runDir, 'hook-networks.json');
export const listenerStatusFile = (l: RunDir) => join(l.runDir, 'listener.json');
export const listenerAutostartFile = (l: RunDir) => join(l.runDir, 'listener-autostart.done');

/** Bytes an abstract unix socket name may hold after its leading NUL (sun_path is 108 bytes; Linux truncates silently). */
export const MAX_ABSTRACT_NAME_BYTES = 107;

/**
 * The host-wide lock (state/lock.ts): an abstract unix socket (leading NUL, no file) named after
 * the run dir, so every --state-dir has its own lock; a run dir too long for the name is hashed.
 * Abstract names are per network namespace: all hooks, CLI runs and the listener of one host
 * run in the host's namespace and share it.
 */
export function lockSocketName(l: RunDir): string {
  const plain = `natnet-hook:lock:${l.runDir}`;
  return `\0${Buffer.byteLength(plain) <= MAX_ABSTRACT_NAME_BYTES ? plain : `natnet-hook:lock:#${nameHash(l.runDir)}`}`;
}
/** Files of older versions' lock: no longer read, written or removed (the socket replaced them). */
export const legacyLockFiles = (l: RunDir) => [join(l.runDir, 'lock'), join(l.runDir, 'lock.break')];

/** Group commit of prepares (hook/group-commit.ts): one request file per waiting prepare, by request id. */
export const preparePendingDir = (l: RunDir) => join(l.runDir, 'prepare-pending');
export const preparePendingFile = (l: RunDir, id: string) => join(preparePendingDir(l), `${id}.json`);
/** The leader's answer to each request, read (and removed) by the prepare that made it. */
export const prepareResultsDir = (l: RunDir) => join(l.runDir, 'prepare-results');
export const prepareResultFile = (l: RunDir, id: string) => join(prepareResultsDir(l), `${id}.json`);

/** The per-network dnsmasq files; the lease database is persistent, the rest volatile. */
export interface DnsmasqPaths {
  conf: string;
  pid: string;
  hosts: string;
  leases: string;
}

export function dnsmasqPaths(l: RunDir & LibDir, network: string): DnsmasqPaths {
  const dir = dnsmasqDir(l);
  return {
    conf: join(dir, `${network}.conf`),
    pid: join(dir, `${network}.pid`),
    hosts: join(dir, `${network}.hosts`),
    leases: join(l.libDir, `${network}.leases`),
  };
}

// ---- persistent state (libDir) ----
export const domainsDir = (l: LibDir) => join(l.libDir, 'domains');
/** What the hooks learned about one VM (engine/domains.ts). */
export const domainFile = (l: LibDir, vm: string) => join(domainsDir(l), `${fileStem(vm)}.json`);
/** The generated prefix of a network with `ipv6 = "auto"`, kept so it never changes (engine/ipv6-prefix.ts). */
export const ipv6PrefixDir = (l: LibDir) => join(l.libDir, 'ipv6-prefix');
export const ipv6PrefixFile = (l: LibDir, network: string) => join(ipv6PrefixDir(l), `${network}.json`);
/** libvirt network name → bridge, learned by the network hook. */
export const libvirtNetworksFile = (l: LibDir) => join(l.libDir, 'libvirt-networks.json');
/** libvirt's status files of its active networks (<networkstatus><network>...), read-only for us. */
export const LIBVIRT_NETWORK_STATUS_DIR = '/run/libvirt/network';
/** What `install` wrote (relative to the install root). */
export const INSTALL_MANIFEST = 'var/lib/natnet-hook/install.json';

// ---- the installed program (relative to the install root) ----
/** One directory per installed version (`<RUNTIME_DIR>/<version>/`), and the `current` symlink naming one. */
export const RUNTIME_DIR = 'usr/lib/natnet-hook';
export const runtimeVersionDir = (version: string) => `${RUNTIME_DIR}/${version}`;
export const RUNTIME_CURRENT = `${RUNTIME_DIR}/current`;
/** What the hooks, the unit and /usr/sbin/natnet-hook run: always through `current`, so an upgrade is one rename. */
export const CURRENT_BIN = `${RUNTIME_CURRENT}/bin/natnet-hook`;
export const SBIN_LINK = 'usr/sbin/natnet-hook';
/** The listener's unit: a package ships it in the vendor directory, install writes the admin's one. */
export const PACKAGED_UNIT_DIR = 'usr/lib/systemd/system';
export const ADMIN_UNIT_DIR = 'etc/systemd/system';

// ---- logs ----
export const hooksLogFile = (l: LogDir) => join(l.logDir, 'hooks.log');
export const engineLogFile = (l: LogDir) => join(l.logDir, 'engine.log');

/** A record that failed validation is moved aside to <file>.bad (never read again, never trusted). */
export const quarantineFile = (file: string) => `${file}.bad`;
/** The network an applied record (or its quarantined copy) is named after: `<network>.json[.bad]`. */
export const appliedNetworkOf = (fileName: string) => fileName.replace(/\.bad$/, '').replace(/\.json$/, '');

/** Temp files of atomic writes: "." prefix, ".tmp" suffix, so scanners skip them. */
export const isTempFile = (name: string) => name.startsWith('.') && name.endsWith('.tmp');
