/**
 * A simulated running VM: a Lab guest (veth whose host side is a port of the bridge, like a
 * tap, in its own namespace) plus the hook domain record a started VM leaves, so that `up`
 * knows the port as a running VM's tap. And a pinger that counts the replies a guest misses.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { inNs } from '../../src/selftest/exec.js';
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
