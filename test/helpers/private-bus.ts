/**
 * Private D-Bus buses for listener tests, derived from
 * /work/shared/reference/recipes/nm-firewalld-private-bus.sh.
 *
 * - startPlainBus(): a permissive dbus-daemon on a unix socket in a temp dir (no root, no
 *   network namespace: a socket touches no network), for tests with fake services.
 * - BusLab: a network namespace with a private system-type bus, and real NetworkManager and
 *   firewalld on it (root). Nothing runs on the machine's real bus or in the root netns;
 *   every process is recorded by pid and stopped by that pid.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBackground, spawnBounded } from '../../src/sys/spawn.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** argv to completion through the product's runner; code 128 after a signal or the timeout (default 30 s). */
export async function run(argv: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await spawnBounded(argv, { env: opts.env, input: opts.input, timeoutSeconds: (opts.timeoutMs ?? 30_000) / 1000 });
  return { code: r.code ?? 128, stdout: r.stdout, stderr: r.stderr };
}

export async function runOk(argv: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` every `intervalMs` until it returns true; false after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the pid, wait, SIGKILL that pid only if it ignored us. */
export async function stopPid(pid: number | undefined, graceMs = 10_000): Promise<void> {
  if (!pid || !pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (!(await waitFor(() => !pidAlive(pid), graceMs))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    await waitFor(() => !pidAlive(pid), 2_000);
  }
}

/** A started background process we own; its output goes to a log file. */
export interface Owned {
  name: string;
  pid: number;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

export async function spawnOwned(name: string, argv: string[], logDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Owned> {
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, `${name}.log`);
  const { pid, child, exited } = await spawnBackground(argv, { env, logFile: log, detached: true });
  return { name, pid, child, log, exited };
}

function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
}

// ---------------------------------------------------------------- a plain bus (no root)

const PLAIN_BUS_CONF = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

export interface PlainBus {
  address: string;
  dir: string;
  pid: number;
  /** Kill the daemon (all clients lose the bus). */
  kill(): Promise<void>;
  /** Start it again at the same address. */
  restart(): Promise<void>;
  /** Kill and remove the temp dir. */
  destroy(): Promise<void>;
}

export async function startPlainBus(): Promise<PlainBus> {
  const dir = mkdtempSync(join(tmpdir(), 'natnet-bus-'));
  const socket = join(dir, 'bus');
  const conf = join(dir, 'bus.conf');
  writeFileSync(conf, PLAIN_BUS_CONF(socket));
  const address = `unix:path=${socket}`;
  let owned: Owned | null = null;
  const start = async () => {
    rmSync(socket, { force: true });
    owned = await spawnOwned('dbus', ['dbus-daemon', `--config-file=${conf}`, '--nofork', '--nopidfile'], dir);
    const up = await waitFor(async () => (await run(['dbus-send', `--bus=${address}`, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetId'])).code === 0, 10_000);
    if (!up) throw new Error(`private bus did not come up; log: ${readFileSync(join(dir, 'dbus.log'), 'utf8')}`);
  };
  await start();
  const bus: PlainBus = {
    address,
    dir,
    get pid() {
      return owned?.pid ?? 0;
    },
    async kill() {
      await stopPid(owned?.pid);
    },
    restart: start,
    async destroy() {
      await stopPid(owned?.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return bus;
}

// ---------------------------------------------------------------- NetworkManager + firewalld lab (root)

const SYSTEM_BUS_CONF = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
</busconfig>
`;

const NM_CONF = (st: string, unmanaged: string[]) => `[main]
plugins=keyfile
no-auto-default=*
dns=none
rc-manager=unmanaged
systemd-resolved=false
hostname-mode=none
auth-polkit=root-only
dhcp=internal
firewall-backend=none

[keyfile]
path=${st}/nm/system-connections
${unmanaged.length > 0 ? `unmanaged-devices=${unmanaged.map((i) => `interface-name:${i}`).join(';')}` : ''}

[connectivity]
enabled=false

[logging]
level=INFO

[device-veth-unmanaged]
match-device=driver:veth,except:interface-name:eth*
managed=0
`;

// ip netns exec gives a private mount namespace with a fresh /sys; NetworkManager and
// firewalld need private /run (and NM its /var/lib dir); a read-only /sys makes NM skip udev.
// Constant scripts; the paths are passed as positional arguments.
const NM_WRAPPER =
  'mount -n --bind "$1/nm/run" /run && mount -n --bind "$1/nm/varlib" /var/lib/NetworkManager && mount -n -o remount,bind,ro /sys && ' +
  'exec NetworkManager --debug --log-level=INFO --config="$1/conf/nm.conf" --config-dir="$1/nm/conf.d" ' +
  '--system-config-dir="$1/nm/sysconf.d" --state-file="$1/nm/varlib/NetworkManager.state" ' +
  '--intern-config="$1/nm/varlib/NetworkManager-intern.conf" --pid-file="$1/nm/run/NetworkManager.pid"';
const FW_WRAPPER = 'mount -n --bind "$1/fw/run" /run && exec firewalld --nofork --nopid --log-target=console --system-config "$1/fw/etc"';

export interface BusLabOptions {
  /** Interfaces NetworkManager must leave alone (default: virbr10). */
  nmUnmanaged?: string[];
  /** Use this existing namespace (e.g. another lab's router) instead of creating one; it is not deleted. */
  ns?: string;
}

/** A network namespace with a private system bus and, on demand, real NetworkManager and firewalld. */
export class BusLab {
  readonly ns: string;
  readonly dir = mkdtempSync(join(tmpdir(), 'natnet-lab-'));
  readonly socket = join(this.dir, 'bus');
  readonly address = `unix:path=${this.socket}`;
  readonly logs = join(this.dir, 'logs');
  private readonly procs = new Map<string, Owned>();
  private nsCreated = false;

  constructor(private readonly opts: BusLabOptions = {}) {
    this.ns = opts.ns ?? uniqueName('nn');
  }

  /** Environment for clients of the private bus (dbus-send, firewall-cmd, nmcli, the listener). */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: this.address, ...extra };
  }

  /** argv prefix running a command inside the lab's namespace. */
  inNs(argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.ns, ...argv];
  }

  async up(services: { nm?: boolean; firewalld?: boolean } = {}): Promise<void> {
    const st = this.dir;
    for (const d of ['conf', 'nm/run', 'nm/varlib', 'nm/conf.d', 'nm/sysconf.d', 'nm/system-connections', 'fw/run', 'logs']) {
      mkdirSync(join(st, d), { recursive: true });
    }
    writeFileSync(join(st, 'conf/bus.conf'), SYSTEM_BUS_CONF(this.socket));
    writeFileSync(join(st, 'conf/nm.conf'), NM_CONF(st, this.opts.nmUnmanaged ?? ['virbr10']));
    if (existsSync('/etc/firewalld')) cpSync('/etc/firewalld', join(st, 'fw/etc'), { recursive: true });
    else mkdirSync(join(st, 'fw/etc'), { recursive: true });
    const fwConf = join(st, 'fw/etc/firewalld.conf');
    const base = existsSync(fwConf) ? readFileSync(fwConf, 'utf8') : 'DefaultZone=public\nCleanupOnExit=yes\n';
    writeFileSync(fwConf, `${base.replace(/^FirewallBackend=.*$/m, '')}\nFirewallBackend=nftables\n`);
    if (!this.opts.ns) {
      await runOk(['ip', 'netns', 'add', this.ns]);
      this.nsCreated = true;
      await runOk(['ip', '-n', this.ns, 'link', 'set', 'lo', 'up']);
    }
    await this.startBus();
    if (services.nm) await this.startNm();
    if (services.firewalld) await this.startFirewalld();
  }

  /** Start a process we own inside the namespace. */
  async spawn(name: string, argv: string[], env: NodeJS.ProcessEnv = this.env()): Promise<Owned> {
    const owned = await spawnOwned(name, this.inNs(argv), this.logs, env);
    this.procs.set(name, owned);
    return owned;
  }

  async stop(name: string, graceMs = 10_000): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    await stopPid(p.pid, graceMs);
    this.procs.delete(name);
  }

  /** Kill -9 (a crash, not a clean stop). */
  async kill(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await waitFor(() => !pidAlive(p.pid), 5_000);
    this.procs.delete(name);
  }

  pid(name: string): number | undefined {
    return this.procs.get(name)?.pid;
  }

  async startBus(): Promise<void> {
    rmSync(this.socket, { force: true });
    await this.spawn('dbus', ['dbus-daemon', `--config-file=${join(this.dir, 'conf/bus.conf')}`, '--nofork', '--nopidfile']);
    const ok = await waitFor(
      async () => (await run(['dbus-send', `--bus=${this.address}`, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetId'])).code === 0,
      10_000,
    );
    if (!ok) throw new Error(`private bus did not come up (${this.logs}/dbus.log)`);
  }

  /** NetworkManager finished starting up: its Startup property reads false. */
  async nmReady(): Promise<boolean> {
    const r = await run(
      [
        'dbus-send', `--bus=${this.address}`, '--print-reply', '--dest=org.freedesktop.NetworkManager', '/org/freedesktop/NetworkManager',
        'org.freedesktop.DBus.Properties.Get', 'string:org.freedesktop.NetworkManager', 'string:Startup',
      ],
      { timeoutMs: 5_000 },
    );
    return r.code === 0 && /variant\s+boolean false/.test(r.stdout);
  }

  async startNm(): Promise<void> {
    await this.spawn('nm', ['sh', '-c', NM_WRAPPER, 'sh', this.dir]);
    if (!(await waitFor(() => this.nmReady(), 20_000, 100))) throw new Error(`NetworkManager did not finish startup (${this.logs}/nm.log)`);
  }

  async firewalldRunning(): Promise<boolean> {
    const r = await run(['firewall-cmd', '--state'], { env: this.env(), timeoutMs: 10_000 });
    return r.stdout.trim() === 'running';
  }

  async startFirewalld(): Promise<void> {
    await this.spawn('firewalld', ['sh', '-c', FW_WRAPPER, 'sh', this.dir]);
    if (!(await waitFor(() => this.firewalldRunning(), 30_000, 100))) throw new Error(`firewalld did not come up (${this.logs}/firewalld.log)`);
  }

  async restartNm(): Promise<void> {
    await this.stop('nm');
    await this.startNm();
  }

  async restartFirewalld(): Promise<void> {
    await this.stop('firewalld');
    await this.startFirewalld();
  }

  /** firewall-cmd against the private bus (root, so no polkit is needed). */
  firewallCmd(args: string[]): Promise<RunResult> {
    return run(['firewall-cmd', ...args], { env: this.env(), timeoutMs: 30_000 });
  }

  async down(): Promise<void> {
    const order = [...this.procs.keys()].reverse();
    for (const name of order) if (name !== 'dbus') await this.stop(name);
    await this.stop('dbus');
    if (this.nsCreated) {
      await run(['ip', 'netns', 'del', this.ns]);
      this.nsCreated = false;
    }
    if (process.env.NATNET_KEEP_LAB !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}
