/**
 * Integration-test lab: a router namespace (the engine runs there via the built CLI), an
 * upstream namespace with a peer, guest namespaces on veth ports of the bridge doing DHCP
 * with udhcpc and a test-owned script. Names are unique per run; cleanup() kills what the
 * lab started by pid and deletes the namespaces, and is safe to call after any failure.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExecResult, inNs, sleep } from '../../src/selftest/exec.js';
import { type DhcpGuest, dhcpOnce, guestIp, type RoundTrip, roundTrip, udhcpcArgv, udhcpcEnv } from '../../src/selftest/probes.js';
import {
  attachGuest,
  createNamespace,
  destroyNamespace,
  isAlive,
  killPids,
  labId,
  linkUpstream,
  namespacePids,
  processName,
  sweepOrphans,
} from '../../src/selftest/topology.js';
import { writeUdhcpcScript } from '../../src/selftest/udhcpc-script.js';
import { spawnBackground } from '../../src/sys/spawn.js';
import { exec } from './exec.js';

export { exec } from './exec.js';
export { UPSTREAM } from '../../src/selftest/topology.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(REPO, 'bin', 'natnet-hook');
/** The handbook network the built-in default config describes. */
export const DEFAULT_NET = { bridge: 'virbr10', gateway: '192.168.100.1', subnet: '192.168.100.0/24', domain: 'natnet' };

export interface Guest extends DhcpGuest {
  mac: string;
  port: string;
  /** udhcpc daemon pid when started with startDhcpDaemon. */
  daemon?: number;
}

export interface CliResult extends ExecResult {
  /** stdout + stderr, for "names the rule" style assertions. */
  all: string;
}

export class Lab {
  readonly id = labId('nnt');
  readonly router = `${this.id}-r`;
  readonly upstream = `${this.id}-u`;
  readonly dir: string;
  readonly configPath: string;
  readonly leasesDir: string;
  readonly stateDir: string;
  readonly script: string;
  readonly guests: Guest[] = [];
  private readonly pids = new Set<number>();
  private readonly namespaces: string[] = [];

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'natnet-test-'));
    // dnsmasq drops to nobody: the state dir's parents must be traversable.
    chmodSync(this.dir, 0o755);
    this.configPath = join(this.dir, 'etc', 'config.toml');
    this.leasesDir = join(this.dir, 'etc', 'leases.d');
    this.stateDir = join(this.dir, 'state');
    mkdirSync(join(this.dir, 'etc'), { recursive: true });
    mkdirSync(join(this.dir, 'guests'), { recursive: true });
    this.script = writeUdhcpcScript(this.dir);
  }

  /** Router + upstream namespaces linked on 203.0.113.0/24; nothing of the engine yet. */
  static async create(opts: { guestSubnet?: string } = {}): Promise<Lab> {
    await sweepOrphans(exec, 'nnt');
    const lab = new Lab();
    try {
      await lab.addNamespace(lab.router);
      await lab.addNamespace(lab.upstream);
      await linkUpstream(exec, lab.router, lab.upstream, opts.guestSubnet ?? DEFAULT_NET.subnet);
    } catch (e) {
      await lab.cleanup();
      throw e;
    }
    return lab;
  }

  private async addNamespace(ns: string): Promise<void> {
    this.namespaces.push(ns);
    await createNamespace(exec, ns);
  }

  writeConfig(text: string): void {
    writeFileSync(this.configPath, text);
  }

  writeLeaseFile(vm: string, text: string): void {
    mkdirSync(this.leasesDir, { recursive: true });
    writeFileSync(join(this.leasesDir, `${vm}.toml`), text);
  }

  /** The built CLI with this lab's --config/--state-dir, inside the router namespace. */
  async cli(args: string[], opts: { env?: Record<string, string>; ns?: string } = {}): Promise<CliResult> {
    const argv = [process.execPath, BIN, '--config', this.configPath, '--state-dir', this.stateDir, ...args];
    const r = await exec(inNs(opts.ns ?? this.router, argv), { env: opts.env });
    return { ...r, all: r.stdout + r.stderr };
  }

  /** The CLI, for set-up steps that must succeed: throws with its output otherwise. */
  async mustCli(args: string[], opts: { env?: Record<string, string>; ns?: string } = {}): Promise<CliResult> {
    const r = await this.cli(args, opts);
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed: ${r.all}`);
    return r;
  }

  /** Runs argv inside namespace ns (default: the router). */
  run(argv: string[], ns = this.router): Promise<ExecResult> {
    return exec(inNs(ns, argv));
  }

  async mustRun(argv: string[], ns = this.router): Promise<string> {
    const r = await this.run(argv, ns);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** A guest namespace on a veth port (vnetN) of the bridge, MAC 52:54:00:aa:bb:NN by default. */
  async addGuest(opts: { mac?: string; bridge?: string } = {}): Promise<Guest> {
    const n = this.guests.length + 1;
    const mac = opts.mac ?? `52:54:00:aa:bb:${n.toString(16).padStart(2, '0')}`;
    const g: Guest = { ns: `${this.id}-g${n}`, name: `g${n}`, dir: join(this.dir, 'guests'), script: this.script, mac, port: `vnet${n}` };
    this.namespaces.push(g.ns);
    this.guests.push(g);
    await attachGuest(exec, { router: this.router, ns: g.ns, port: g.port, mac, bridge: opts.bridge ?? DEFAULT_NET.bridge });
    return g;
  }

  /** One DHCP exchange; resolves with the address obtained or null. */
  async dhcp(g: Guest, opts: { hostname?: string; tries?: number } = {}): Promise<string | null> {
    return (await dhcpOnce(exec, g, opts)).ip;
  }

  /** udhcpc as a daemon (like a VM's DHCP client); renew() makes it renew (SIGUSR1). */
  async startDhcpDaemon(g: Guest, opts: { hostname?: string } = {}): Promise<number> {
    const argv = udhcpcArgv(g, { oneShot: false, hostname: opts.hostname, tries: 30 });
    const { pid } = await spawnBackground(argv, { env: udhcpcEnv(g) });
    this.pids.add(pid);
    g.daemon = pid;
    return pid;
  }

  renew(g: Guest): void {
    if (!g.daemon) throw new Error(`${g.name} has no DHCP daemon`);
    process.kill(g.daemon, 'SIGUSR1');
  }

  ipOf(g: Guest): string | null {
    return guestIp(g);
  }

  guestLog(g: Guest): string {
    try {
      return readFileSync(join(g.dir, `${g.name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** Polls until the guest's recorded address satisfies want; returns the last address seen. */
  async waitForIp(g: Guest, want: (ip: string | null) => boolean, seconds = 20): Promise<string | null> {
    for (let i = 0; i < seconds * 10; i++) {
      if (want(this.ipOf(g))) break;
      await sleep(100);
    }
    return this.ipOf(g);
  }

  roundTrip(opts: { serverNs: string; clientNs: string; ip: string; port: number; proto: 'tcp' | 'udp' }): Promise<RoundTrip> {
    return roundTrip(exec, opts);
  }

  /** Pids of dnsmasq processes running in the router namespace. */
  async dnsmasqPids(): Promise<number[]> {
    return (await namespacePids(exec, this.router)).filter((p) => processName(p) === 'dnsmasq');
  }

  /** Links of the router namespace: name, kind-relevant flags, MAC, master (stable across runs). */
  async links(): Promise<string[]> {
    const out = await this.mustRun(['ip', '-j', '-d', 'link', 'show']);
    return (JSON.parse(out) as { ifname: string; address?: string; master?: string; flags?: string[] }[])
      .map((l) => `${l.ifname} ${l.address ?? ''} master=${l.master ?? ''} ${(l.flags ?? []).join(',')}`)
      .sort();
  }

  /** iptables-save of the router namespace without comments and counters. */
  async iptablesSave(binary = 'iptables-save'): Promise<string> {
    return normaliseIptablesSave(await this.mustRun([binary]));
  }

  /** nft list ruleset without packet counters (traffic changes them, not the engine). */
  async nftRuleset(): Promise<string> {
    return (await this.mustRun(['nft', 'list', 'ruleset'])).replace(/counter packets \d+ bytes \d+/g, 'counter');
  }

  /** Links, both iptables variants and the nft ruleset: what "nothing changed" compares. */
  async snapshot(): Promise<{ links: string[]; iptables: string; legacy: string; nft: string }> {
    return {
      links: await this.links(),
      iptables: await this.iptablesSave('iptables-nft-save'),
      legacy: await this.iptablesSave('iptables-legacy-save'),
      nft: await this.nftRuleset(),
    };
  }

  /**
   * snapshot() plus ip_forward, the IPv6 side and the router's dnsmasq processes: "the host as it
   * began". `exceptLinks`: the IPv6 side of these links is left out (a test's guest veths, which
   * stay after down).
   */
  async hostState(exceptLinks: string[] = []) {
    return {
      ...(await this.snapshot()),
      ipForward: (await this.mustRun(['cat', '/proc/sys/net/ipv4/ip_forward'])).trim(),
      ipv6: await this.ipv6State(exceptLinks),
      dnsmasq: await this.dnsmasqPids(),
    };
  }

  /** The router's IPv6 addresses and routes, and every IPv6 sysctl of every interface (all/default included). */
  async ipv6State(exceptLinks: string[] = []): Promise<{ addresses: string; routes: string; sysctls: Record<string, string> }> {
    await this.settleDad();
    const sysctls: Record<string, string> = {};
    const conf = await this.mustRun(['sysctl', '-a', '-r', '^net\\.ipv6\\.conf\\.']);
    for (const line of conf.split('\n')) {
      const m = /^(\S+) = (.*)$/.exec(line);
      if (m && !exceptLinks.some((l) => m[1].startsWith(`net.ipv6.conf.${l}.`))) sysctls[m[1]] = m[2];
    }
    const keep = (text: string) =>
      text
        .split('\n')
        .filter((line) => !exceptLinks.some((l) => new RegExp(`(^\\d+: ${l} )|( dev ${l} )`).test(line)))
        .join('\n')
        .trim();
    return {
      addresses: keep((await this.mustRun(['ip', '-6', '-o', 'addr', 'show'])).replace(/valid_lft.*$/gm, '').trim()),
      routes: keep((await this.mustRun(['ip', '-6', 'route', 'show', 'table', 'all'])).replace(/expires \S+/g, '').trim()),
      sysctls,
    };
  }

  /** Waits (up to 5 s) until no IPv6 address of namespace ns is tentative: a new link's DAD must not read as a change. */
  async settleDad(ns = this.router): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if ((await this.mustRun(['ip', '-6', 'addr', 'show', 'tentative'], ns)).trim() === '') return;
      await sleep(100);
    }
  }

  /** Every file under the state dir with its content (or null when the dir is absent). */
  stateFiles(): Record<string, string> | null {
    return existsSync(this.stateDir) ? treeContents(this.stateDir) : null;
  }

  async cleanup(): Promise<void> {
    const own = [...this.pids].filter(isAlive);
    await killPids(own);
    for (const ns of [...this.namespaces].reverse()) await destroyNamespace(exec, ns);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * iptables-save without comments and counters, and without tables that hold nothing
 * (no rule, no own chain, every policy ACCEPT): iptables-legacy instantiates a table in a
 * namespace on first use and the kernel offers no way to remove it again.
 */
export function normaliseIptablesSave(text: string): string {
  const lines = text
    .split('\n')
    .filter((l) => !l.startsWith('#') && l.trim() !== '')
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'));
  const out: string[] = [];
  let table: string[] = [];
  for (const l of lines) {
    table.push(l);
    if (l !== 'COMMIT') continue;
    const empty = table.every((t) => t.startsWith('*') || t === 'COMMIT' || /^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT /.test(t));
    if (!empty) out.push(...table);
    table = [];
  }
  return [...out, ...table].join('\n');
}

function treeContents(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[relative(root, p)] = st.isFile() ? readFileSync(p, 'utf8') : `<${st.mode.toString(8)}>`;
    }
  };
  walk(root);
  return out;
}

/** Lines present in after but not in before (multiset difference). */
export function addedLines(before: string, after: string): string[] {
  const pool = new Map<string, number>();
  for (const l of before.split('\n')) pool.set(l, (pool.get(l) ?? 0) + 1);
  const out: string[] = [];
  for (const l of after.split('\n')) {
    const n = pool.get(l) ?? 0;
    if (n > 0) pool.set(l, n - 1);
    else out.push(l);
  }
  return out;
}

/** Lines that occur more than once. */
export function duplicates(lines: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const l of lines) (seen.has(l) ? dup : seen).add(l);
  return [...dup];
}

export const wait = sleep;
