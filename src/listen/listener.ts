import { NatnetError } from '../errors.js';
import type { Logger } from '../log.js';
import { addMatch, BusError, type BusClient, nameHasOwner } from './bus.js';
import { Coalescer, type RepairRequest } from './coalescer.js';
import { checkUnmanaged, putBridgesInZone, syncBridgeKeys } from './bridge-checks.js';
import { firewalldState, waitFirewalldRunning } from './firewalld.js';
import type { ListenerOptions } from './options.js';
import { classifySignal, describeMessage, FW_NAME, type ListenerEvent, matchRules, NM_NAME, type SignalLike } from './signals.js';
import { subscribeSystemd } from './systemd.js';
import { type ListenerStatus, writeListenerStatus } from './status-file.js';

export interface RepairResult {
  /** What the repair changed, e.g. "natnet: iptables rules re-applied". Empty when all was right. */
  actions: string[];
  /** The bridges of the networks that are up: these get the zone and the NetworkManager check. */
  bridges: string[];
  /** The config file's problems (one per line) when it did not load and validate; null or absent: it did. */
  configProblems?: string[] | null;
  /** The config file was adopted (applied to the applied networks), as `adopt` asked. */
  adopted?: boolean;
  /** What the adopted config changed, per network field (for the log). */
  configChanges?: string[];
}

/**
 * `autostart`: also bring up networks marked autostart (first repair after the listener starts).
 * `adopt`: apply the config file as it is now (SIGHUP); otherwise repair against what was last applied.
 */
export type RepairFn = (req: { reason: string; autostart: boolean; adopt?: boolean }) => Promise<RepairResult>;

export interface ListenerTiming {
  /** Quiet time that ends a burst of signals. */
  quietMs: number;
  /** Longest a burst may delay a repair. */
  maxWaitMs: number;
  reconnectAttempts: number;
  /** First reconnect delay; doubles up to reconnectMaxDelayMs. */
  reconnectDelayMs: number;
  reconnectMaxDelayMs: number;
  /** Polls of firewalld's `state` after it appears, and the gap between them. */
  firewalldReadyTries: number;
  firewalldReadyIntervalMs: number;
  /** Status writes caused by events alone are batched this long. */
  statusWriteMs: number;
}

export const DEFAULT_TIMING: ListenerTiming = {
  quietMs: 20,
  maxWaitMs: 250,
  reconnectAttempts: 15,
  reconnectDelayMs: 200,
  reconnectMaxDelayMs: 2_000,
  firewalldReadyTries: 150,
  firewalldReadyIntervalMs: 100,
  statusWriteMs: 250,
};

export interface ListenerDeps {
  connect: () => Promise<BusClient>;
  /** For the status file and log lines only. */
  busAddress: string;
  repair: RepairFn;
  runDir: string;
  log: Logger;
  options: ListenerOptions;
  timing?: Partial<ListenerTiming>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Watches NetworkManager and firewalld on the system bus and repairs our networks
 * when they act; also repairs on a timer. `run()` resolves after stop() and rejects
 * with a NatnetError when the bus is lost for good (systemd restarts us).
 */
export class Listener {
  private readonly t: ListenerTiming;
  private readonly coalescer: Coalescer;
  private bus: BusClient | null = null;
  /** The bus once fully subscribed: only its loss starts a reconnect (a half-set-up one is retried by connectLoop). */
  private live: BusClient | null = null;
  private services = { networkManager: false, firewalld: false };
  private fwGeneration = 0;
  private autostartPending = true;
  private bridges: string[] = [];
  private stopping = false;
  private intervalTimer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private finish: { resolve: () => void; reject: (e: Error) => void } | null = null;
  readonly status: Required<Pick<ListenerStatus, 'reloadsRequested' | 'lastReload' | 'configError'>> & ListenerStatus;

  constructor(private readonly deps: ListenerDeps) {
    this.t = { ...DEFAULT_TIMING, ...deps.timing };
    this.coalescer = new Coalescer({
      quietMs: this.t.quietMs,
      maxWaitMs: this.t.maxWaitMs,
      run: (req) => this.doRepair(req),
      onError: (e) => deps.log.error({ err: errText(e) }, 'repair failed'),
    });
    const now = new Date().toISOString();
    this.status = {
      pid: process.pid,
      started: now,
      updated: now,
      bus: { address: deps.busAddress, connected: false, uniqueName: null, reconnects: 0 },
      services: { ...this.services },
      lastEvent: null,
      lastRepair: null,
      repairs: 0,
      nmManaged: {},
      firewalldZone: {},
      reloadsRequested: 0,
      lastReload: null,
      configError: null,
    };
  }

  /**
   * Adopt the config file (SIGHUP, `natnet-hook reload`): coalesced with other repairs. The count
   * is written at once, so `reload` can tell which lastReload answers its signal.
   */
  reload(): void {
    if (this.stopping) return;
    this.status.reloadsRequested++;
    this.deps.log.info({ reload: this.status.reloadsRequested }, 'reload requested: adopting the config file');
    this.writeStatusNow();
    this.coalescer.request({ reasons: ['reload'], firewalld: this.services.firewalld, networkManager: this.services.networkManager, adopt: true });
  }

  async run(): Promise<void> {
    const finished = new Promise<void>((resolve, reject) => {
      this.finish = { resolve, reject };
    });
    this.writeStatusNow();
    const why = await this.connectLoop();
    if (why !== null) {
      if (!this.stopping) this.fatal(`cannot connect to D-Bus at ${this.deps.busAddress}: ${why}`);
      return finished;
    }
    if (this.deps.options.intervalMs > 0) {
      this.intervalTimer = setInterval(() => this.request('periodic check', this.services.firewalld, this.services.networkManager), this.deps.options.intervalMs);
    }
    this.request('listener start', this.services.firewalld, this.services.networkManager);
    return finished;
  }

  /** Resolves once no repair is pending or running (tests, benchmarks). */
  idle(): Promise<void> {
    return this.coalescer.idle();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearTimers();
    await this.coalescer.stop();
    this.bus?.close();
    this.bus = null;
    this.status.bus.connected = false;
    this.status.stopped = new Date().toISOString();
    this.writeStatusNow();
    this.finish?.resolve();
  }

  private fatal(message: string): void {
    this.stopping = true;
    this.clearTimers();
    void this.coalescer.stop().finally(() => {
      this.status.bus.connected = false;
      this.writeStatusNow();
      this.finish?.reject(new NatnetError(message));
    });
  }

  private clearTimers(): void {
    if (this.intervalTimer) clearInterval(this.intervalTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.intervalTimer = null;
    this.statusTimer = null;
    this.fwGeneration++;
  }

  /** Connect (with bounded retries) and subscribe. Returns null on success, else the last error. */
  private async connectLoop(): Promise<string | null> {
    let last = 'not tried';
    let delay = this.t.reconnectDelayMs;
    for (let attempt = 0; attempt < this.t.reconnectAttempts; attempt++) {
      if (this.stopping) return 'stopping';
      if (attempt > 0) {
        await sleep(delay);
        delay = Math.min(delay * 2, this.t.reconnectMaxDelayMs);
        if (this.stopping) return 'stopping';
      }
      let bus: BusClient | null = null;
      try {
        bus = await this.deps.connect();
        if (this.stopping) {
          bus.close();
          return 'stopping';
        }
        await this.subscribe(bus);
        if (this.stopping) {
          bus.close();
          this.bus = null;
          this.live = null;
          return 'stopping';
        }
        return null;
      } catch (e) {
        last = errText(e);
        bus?.close();
        if (this.bus === bus) this.bus = null;
        this.deps.log.warn({ attempt: attempt + 1, of: this.t.reconnectAttempts, err: last }, 'D-Bus connection attempt failed');
      }
    }
    return `${last} (after ${this.t.reconnectAttempts} attempts)`;
  }

  private async subscribe(bus: BusClient): Promise<void> {
    this.bus = bus;
    bus.onMessage((msg) => {
      if (this.bus === bus) this.onMessage(msg);
    });
    bus.onLost((why) => {
      if (this.live === bus) void this.onLost(why);
    });
    for (const rule of matchRules()) await addMatch(bus, rule);
    const [nm, fw] = await Promise.all([nameHasOwner(bus, NM_NAME), nameHasOwner(bus, FW_NAME)]);
    this.services = { networkManager: nm, firewalld: fw };
    this.status.services = { ...this.services };
    // Docker's restarts (JobRemoved of docker.service) come from systemd, when it is on this bus
    await subscribeSystemd(bus, this.deps.log);
    if (bus.lost) throw new BusError('bus connection lost while subscribing');
    this.live = bus;
    this.status.bus.connected = true;
    this.status.bus.uniqueName = bus.uniqueName || null;
    this.deps.log.info({ bus: this.deps.busAddress, name: bus.uniqueName, networkManager: nm, firewalld: fw }, 'listening on D-Bus');
    this.writeStatusNow();
    // firewalld may have taken its name before we subscribed and still be loading (boot):
    // what we apply now it would flush, so repair again once it is RUNNING
    if (fw && (await firewalldState(bus)) !== 'RUNNING') void this.afterFirewalldRunning(++this.fwGeneration, 'firewalld starting');
  }

  private async onLost(why: string): Promise<void> {
    if (this.stopping) return;
    this.bus = null;
    this.live = null;
    this.status.bus.connected = false;
    this.status.bus.uniqueName = null;
    this.fwGeneration++;
    this.deps.log.warn({ err: why }, 'D-Bus connection lost; reconnecting');
    this.writeStatusNow();
    const failed = await this.connectLoop();
    if (failed === null) {
      this.status.bus.reconnects++;
      this.request('D-Bus reconnected', this.services.firewalld, this.services.networkManager);
    } else if (!this.stopping) {
      this.fatal(`lost the D-Bus connection to ${this.deps.busAddress} (${why}) and could not reconnect: ${failed}`);
    }
  }

  private onMessage(msg: SignalLike): void {
    const ev = classifySignal(msg);
    if (!ev) {
      if (msg.type === 4) this.deps.log.debug({ signal: describeMessage(msg) }, 'signal ignored');
      return;
    }
    this.status.lastEvent = { time: new Date().toISOString(), what: ev.what };
    this.deps.log.debug({ event: ev.what }, 'event');
    this.handle(ev);
    this.scheduleStatusWrite();
  }

  private handle(ev: ListenerEvent): void {
    switch (ev.kind) {
      case 'firewalld-started': {
        this.setService('firewalld', true);
        const gen = ++this.fwGeneration;
        void this.afterFirewalldRunning(gen, ev.what);
        return;
      }
      case 'firewalld-stopped':
        this.setService('firewalld', false);
        this.fwGeneration++;
        for (const b of Object.keys(this.status.firewalldZone)) this.status.firewalldZone[b] = null;
        this.request(ev.what, false, false);
        return;
      case 'firewalld-reloaded':
        this.request(ev.what, true, false);
        return;
      case 'nm-stopped':
        this.setService('networkManager', false);
        for (const b of Object.keys(this.status.nmManaged)) this.status.nmManaged[b] = null;
        this.request(ev.what, false, false);
        return;
      case 'nm-started':
        this.setService('networkManager', true);
        this.request(ev.what, false, true);
        return;
      case 'nm-changed':
        this.request(ev.what, false, true);
        return;
      case 'docker-started':
        // Docker rebuilt its chains: our DOCKER-USER accepts are part of every network's repair
        this.request(ev.what, false, false);
        return;
    }
  }

  private setService(which: 'firewalld' | 'networkManager', present: boolean): void {
    this.services[which] = present;
    this.status.services = { ...this.services };
  }

  /** firewalld flushes and loads its rules after taking its name: repair only once `state` is RUNNING. */
  private async afterFirewalldRunning(gen: number, what: string): Promise<void> {
    const bus = this.bus;
    if (!bus) return;
    const stillWanted = () => gen === this.fwGeneration && !this.stopping;
    const ok = await waitFirewalldRunning(bus, {
      tries: this.t.firewalldReadyTries,
      intervalMs: this.t.firewalldReadyIntervalMs,
      stillWanted,
    });
    if (!stillWanted()) return;
    if (!ok) this.deps.log.warn('firewalld appeared but its state did not become RUNNING; repairing anyway');
    this.request(`${what}, state RUNNING`, ok, false);
  }

  private request(reason: string, firewalld: boolean, networkManager: boolean): void {
    if (this.stopping) return;
    const req: RepairRequest = { reasons: [reason], firewalld, networkManager };
    this.coalescer.request(req);
  }

  private async doRepair(req: RepairRequest): Promise<void> {
    const reason = req.reasons.join('; ');
    const time = new Date().toISOString();
    const adopt = req.adopt === true;
    // every reload signal received before this run started is answered by it
    const covers = this.status.reloadsRequested;
    try {
      const result = await this.deps.repair({ reason, autostart: this.autostartPending, ...(adopt ? { adopt } : {}) });
      this.autostartPending = false;
      this.bridges = result.bridges;
      this.status.lastRepair = { time, reason, actions: result.actions };
      this.noteConfig(time, reason, adopt, result.configProblems ?? null);
      if (adopt) this.status.lastReload = reloadOutcome(covers, time, result);
      if (adopt && result.adopted) {
        const changed = result.configChanges ?? [];
        this.deps.log.info({ reason, changed, actions: result.actions }, changed.length || result.actions.length ? 'config adopted' : 'config adopted: nothing changed');
      }
      else if (result.actions.length > 0) this.deps.log.info({ reason, actions: result.actions }, 'repaired');
      else this.deps.log.debug({ reason }, 'nothing to repair');
    } catch (e) {
      this.status.lastRepair = { time, reason, actions: [], error: errText(e) };
      if (adopt) this.status.lastReload = { covers, time, ok: false, actions: [], error: errText(e) };
      this.deps.log.error({ reason, err: errText(e) }, 'repair failed');
    }
    this.status.repairs++;
    syncBridgeKeys([this.status.nmManaged, this.status.firewalldZone], this.bridges);
    const bus = this.bus;
    const zone = this.deps.options.firewalldZone;
    if (bus && req.firewalld && this.services.firewalld && zone) {
      await putBridgesInZone(bus, this.bridges, zone, this.status.firewalldZone, this.deps.log);
    }
    if (bus && req.networkManager && this.services.networkManager) {
      await checkUnmanaged(bus, this.bridges, this.status.nmManaged, this.deps.log);
    }
    this.writeStatusNow();
  }

  /**
   * A config file that does not validate is logged (one line per problem, once until it changes)
   * and reported in the status file. A rejected reload stays reported until a reload succeeds;
   * one seen by a repair alone clears once the file validates again.
   */
  private noteConfig(time: string, reason: string, adopt: boolean, problems: string[] | null): void {
    const prev = this.status.configError;
    if (problems === null) {
      if (prev && (adopt || !prev.reload)) this.status.configError = null;
      return;
    }
    const message = problems.join('\n');
    if (prev?.message !== message || adopt) {
      for (const p of problems) this.deps.log.error({ reason, problem: p }, 'config invalid: not applied; keeping the configuration last applied');
    }
    this.status.configError = { at: time, message, reload: adopt || (prev?.reload ?? false) };
  }

  private scheduleStatusWrite(): void {
    if (this.statusTimer || this.stopping) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.writeStatusNow();
    }, this.t.statusWriteMs);
  }

  private writeStatusNow(): void {
    this.status.updated = new Date().toISOString();
    try {
      writeListenerStatus(this.deps.runDir, this.status);
    } catch (e) {
      this.deps.log.warn({ err: errText(e) }, 'could not write listener status');
    }
  }
}

/** What a reload run answers: adopted, or why not (config problems or the failure). */
export function reloadOutcome(covers: number, time: string, r: RepairResult): NonNullable<ListenerStatus['lastReload']> {
  const ok = r.adopted === true && !r.configProblems;
  return {
    covers,
    time,
    ok,
    actions: r.actions,
    ...(ok ? {} : { error: r.configProblems?.join('\n') ?? 'the config was not adopted' }),
  };
}
