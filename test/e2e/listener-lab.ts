/**
 * The listener's end-to-end lab: the integration Lab (router + upstream + guest namespaces,
 * engine via the built CLI in the router) plus a private system bus — and optionally real
 * NetworkManager and firewalld — inside the router namespace, and the listener running
 * there as its own process (`natnet-hook listen`), pointed at the bus with DBUS_SYSTEM_BUS_ADDRESS.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ListenerStatusView, readListenerStatus } from '../../src/listen/status-file.js';
import { hostIptablesVariant, networkToml } from '../helpers/lab-config.js';
import { BIN, type Guest, Lab, REPO, UPSTREAM } from '../helpers/netns.js';
import { BusLab, type Owned, run, sleep, waitFor } from '../helpers/private-bus.js';

export const BRIDGE = 'virbr10';

/** Until cli.ts wires `listen`, run the same command module through a tiny ESM entry. */
const ENTRY = `
const [config, stateDir, ...rest] = process.argv.slice(1);
const { makeContext } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/engine/context.js')).href)});
const { runListen } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/commands/listen.js')).href)});
const opts = {};
for (let i = 0; i < rest.length; i += 2) opts[rest[i] === '--interval' ? 'interval' : 'firewalldZone'] = rest[i + 1];
try {
  await runListen(makeContext({ config, stateDir }), opts);
} catch (e) {
  process.stderr.write('natnet-hook: ' + e.message + '\\n');
  process.exitCode = e.exitCode ?? 1;
}
`;

async function cliHasListen(): Promise<boolean> {
  const r = await run([process.execPath, BIN, '--help']);
  return /^\s+listen\b/m.test(r.stdout);
}

export class ListenerLab {
  listener: Owned | null = null;
  private listenerRuns = 0;

  private constructor(
    readonly lab: Lab,
    readonly bus: BusLab,
  ) {}

  static async create(services: { nm: boolean; firewalld: boolean }, listenerToml = '[listener]\ninterval = 0\n'): Promise<ListenerLab> {
    const lab = await Lab.create();
    const bus = new BusLab({ ns: lab.router });
    const ll = new ListenerLab(lab, bus);
    try {
      lab.writeConfig(`${networkToml({ firewall: 'iptables', extra: ['stp = false'] })}\n${listenerToml}`);
      await bus.up(services);
    } catch (e) {
      await ll.cleanup();
      throw e;
    }
    return ll;
  }

  get runDir(): string {
    return join(this.lab.stateDir, 'run');
  }

  status(): ListenerStatusView | null {
    return readListenerStatus(this.runDir);
  }

  async startListener(args: string[] = []): Promise<Owned> {
    const argv = (await cliHasListen())
      ? [process.execPath, BIN, '--config', this.lab.configPath, '--state-dir', this.lab.stateDir, 'listen', ...args]
      : [process.execPath, '--input-type=module', '-e', ENTRY, this.lab.configPath, this.lab.stateDir, ...args];
    const name = `listener-${++this.listenerRuns}`;
    this.listener = await this.bus.spawn(name, argv);
    const pid = this.listener.pid;
    const ok = await waitFor(() => {
      const st = this.status();
      return st?.pid === pid && st.bus.connected && st.repairs > 0;
    }, 30_000);
    if (!ok) throw new Error(`listener did not start (log ${this.listener.log})`);
    return this.listener;
  }

  /** SIGTERM the listener; its exit code. */
  async stopListener(): Promise<number | null> {
    const l = this.listener;
    if (!l) return null;
    process.kill(l.pid, 'SIGTERM');
    const code = await Promise.race([l.exited, sleep(30_000).then(() => -1)]);
    this.listener = null;
    return code;
  }

  saveCmd(): string {
    return hostIptablesVariant() === 'legacy' ? 'iptables-legacy-save' : 'iptables-nft-save';
  }

  /** Our jumps and chains are in place (nat POSTROUTING + filter FORWARD). */
  async rulesPresent(): Promise<boolean> {
    const r = await this.lab.run([this.saveCmd()]);
    if (r.code !== 0) return false;
    return r.stdout.includes(`-j NATNET-POST-${BRIDGE}`) && r.stdout.includes(`-j NATNET-FWD-${BRIDGE}`) && r.stdout.includes(`-A NATNET-POST-${BRIDGE} `);
  }

  /**
   * Runs `disturb` while polling our rules; resolves once they are present again, with how
   * long they were seen missing (0 when never seen missing; null when they never came back).
   */
  async missingWindow(disturb: () => Promise<void>, timeoutMs = 30_000): Promise<number | null> {
    let firstMissing: number | null = null;
    let back: number | null = null;
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        const ok = await this.rulesPresent();
        const t = performance.now();
        if (!ok) {
          if (firstMissing === null) firstMissing = t;
          back = null;
        } else if (firstMissing !== null && back === null) back = t;
        await sleep(5);
      }
    })();
    await disturb();
    const settled = await waitFor(async () => (firstMissing === null || back !== null) && (await this.rulesPresent()), timeoutMs, 20);
    stop = true;
    await poller;
    if (!settled) return null;
    return firstMissing === null ? 0 : Math.round((back as number | null ?? firstMissing) - firstMissing);
  }

  /** The upstream peer sees the guest's TCP connection coming from the router's address. */
  async natWorks(g: Guest): Promise<{ ok: boolean; detail: string }> {
    const rt = await this.lab.roundTrip({ serverNs: this.lab.upstream, clientNs: g.ns, ip: UPSTREAM.peerIp, port: 8080, proto: 'tcp' });
    return { ok: rt.peerSaw === UPSTREAM.routerIp, detail: `peer saw ${rt.peerSaw}; ${rt.clientError}` };
  }

  async bridgeHasAddress(): Promise<boolean> {
    const r = await this.lab.run(['ip', '-j', 'addr', 'show', 'dev', BRIDGE]);
    return r.code === 0 && r.stdout.includes('"192.168.100.1"');
  }

  listenerLog(): string {
    return this.listener && existsSync(this.listener.log) ? this.listener.log : '';
  }

  async cleanup(): Promise<void> {
    if (this.listener) await this.stopListener().catch(() => null);
    await this.bus.down().catch(() => {});
    await this.lab.cleanup();
  }
}
