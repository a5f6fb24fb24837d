/**
 * A simulated running VM: a Lab guest (veth whose host side is a port of the bridge, like a
 * tap, in its own namespace) plus the hook domain record a started VM leaves, so that `up`
 * knows the port as a running VM's tap. A pinger that counts the replies a guest misses, and
 * a link monitor that tells whether a bridge ever opened without carrier.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { inNs, sleep } from '../../src/selftest/exec.js';
import { domainFile, layoutOf } from '../../src/state/layout.js';
import { type Background, spawnBackground } from '../../src/sys/spawn.js';
import type { Guest, Lab } from './netns.js';

/** The guest and the record the qemu hook writes for it on `started` (running, tap known). */
export async function addRunningVm(lab: Lab, vm: string, opts: { mac?: string; bridge?: string } = {}): Promise<Guest> {
  const g = await lab.addGuest(opts);
  writeRunningRecord(lab, vm, g, opts.bridge ?? 'virbr10');
  return g;
}

export function writeRunningRecord(lab: Lab, vm: string, g: Guest, bridge: string): void {
  const file = domainFile(layoutOf({ config: lab.configPath, stateDir: lab.stateDir }), vm);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const rec = { vm, nics: [{ mac: g.mac, bridge, tap: g.port }], metadataLeases: [], running: true, updated: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(rec)}\n`);
}

/** `ping -i 0.02` (busybox) from a guest namespace; every reply's seq is kept. Stop it in finally. */
export class Pinger {
  private readonly seqs = new Set<number>();
  private constructor(private readonly bg: Background) {
    let rest = '';
    bg.child.stdout?.on('data', (chunk: Buffer) => {
      const text = rest + chunk.toString();
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const m = / seq=(\d+) /.exec(l);
        if (m) this.seqs.add(Number(m[1]));
      }
    });
    bg.child.stderr?.on('data', () => {});
  }

  static async start(ns: string, ip: string, intervalSeconds = 0.02): Promise<Pinger> {
    return new Pinger(await spawnBackground(inNs(ns, ['busybox', 'ping', '-i', String(intervalSeconds), ip]), { pipes: true }));
  }

  get pid(): number {
    return this.bg.pid;
  }

  /** The highest seq answered so far (-1: none yet). */
  highest(): number {
    let hi = -1;
    for (const s of this.seqs) hi = Math.max(hi, s);
    return hi;
  }

  /** Seqs after `from` up to `to` (inclusive) that got no reply. */
  missing(from: number, to: number): number[] {
    const out: number[] = [];
    for (let s = from + 1; s <= to; s++) if (!this.seqs.has(s)) out.push(s);
    return out;
  }

  /** Waits until a reply newer than seq arrives (or ms pass); the newest seq answered. */
  async answeredAfter(seq: number, ms = 5000): Promise<number> {
    const end = Date.now() + ms;
    while (this.highest() <= seq && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return this.highest();
  }

  async stop(): Promise<void> {
    try {
      process.kill(this.bg.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await this.bg.exited;
  }
}

/**
 * `ip monitor link` in the lab's router namespace. A bridge that opens without carrier gets it
 * when a port joins, but the kernel readies its transmit queue only later (linkwatch) and drops
 * what the host sends meanwhile (an ARP request for a guest: 1 s until the retry). Whether that
 * window opens at all shows in the messages: an UP bridge without LOWER_UP.
 */
export class LinkMonitor {
  private readonly lines: string[] = [];
  private marks = 0;
  private constructor(
    private readonly lab: Lab,
    private readonly bg: Background,
  ) {
    let rest = '';
    bg.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      this.lines.push(...lines);
    });
    bg.child.stderr?.on('data', () => {});
  }

  /** Returns once the monitor reports changes. Stop it in finally. */
  static async start(lab: Lab): Promise<LinkMonitor> {
    const m = new LinkMonitor(lab, await spawnBackground(inNs(lab.router, ['ip', 'monitor', 'link']), { pipes: true }));
    try {
      await m.sync();
    } catch (e) {
      await m.kill();
      throw e;
    }
    return m;
  }

  /**
   * Every change made before it is read: a change the monitor reports (lo's txqueuelen, which
   * nothing uses: lo has no queue) and that nothing else in the lab makes, seen.
   */
  private async sync(): Promise<void> {
    const lo = () => this.lines.filter((l) => /^\d+: lo: /.test(l)).length;
    for (let i = 0; i < 20; i++) {
      const seen = lo();
      await this.lab.mustRun(['ip', 'link', 'set', 'dev', 'lo', 'txqueuelen', String(1000 + (this.marks++ % 2))]);
      for (let j = 0; j < 50; j++) {
        if (lo() > seen) return;
        await sleep(10);
      }
    }
    throw new Error(`ip monitor link in ${this.lab.router} reports nothing`);
  }

  /** The messages that showed the bridge open (UP) without carrier (no LOWER_UP). */
  openWithoutCarrier(bridge: string): string[] {
    return this.lines.filter((l) => {
      const flags = new RegExp(`^\\d+: ${bridge}: <([^>]*)>`).exec(l)?.[1].split(',') ?? [];
      return flags.includes('UP') && !flags.includes('LOWER_UP');
    });
  }

  /** Reads what happened so far, then stops. */
  async stop(): Promise<void> {
    try {
      await this.sync();
    } finally {
      await this.kill();
    }
  }

  private async kill(): Promise<void> {
    try {
      process.kill(this.bg.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await this.bg.exited;
  }
}

/** Packets the kernel dropped on their way out of dev in the lab's router namespace. */
export async function txDropped(lab: Lab, dev: string): Promise<number> {
  return JSON.parse(await lab.mustRun(['ip', '-j', '-s', 'link', 'show', 'dev', dev]))[0].stats64.tx.dropped as number;
}
