/**
 * Coalesces bursts of requests into single runs of one async task.
 * A run starts once no request came for `quietMs` (or `maxWaitMs` after the first
 * request of a burst, so a steady trickle cannot starve it). Runs never overlap:
 * requests that arrive during a run are merged and run once afterwards.
 */

export interface RepairRequest {
  /** Why, e.g. "firewalld Reloaded"; merged runs join their distinct reasons. */
  reasons: string[];
  /** Put our bridges in the firewalld zone after the repair. */
  firewalld: boolean;
  /** Check NetworkManager leaves our bridges unmanaged. */
  networkManager: boolean;
  /** Adopt the config file (a reload), not only repair against what was last applied. */
  adopt?: boolean;
}

export function mergeRequests(a: RepairRequest, b: RepairRequest): RepairRequest {
  const reasons = [...a.reasons];
  for (const r of b.reasons) if (!reasons.includes(r)) reasons.push(r);
  return {
    reasons,
    firewalld: a.firewalld || b.firewalld,
    networkManager: a.networkManager || b.networkManager,
    ...(a.adopt || b.adopt ? { adopt: true } : {}),
  };
}

export interface CoalescerOptions {
  quietMs: number;
  maxWaitMs: number;
  run: (req: RepairRequest) => Promise<void>;
  /** Called when `run` rejects; the coalescer itself never throws. */
  onError: (err: unknown) => void;
}

export class Coalescer {
  private pending: RepairRequest | null = null;
  private firstPendingAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Number of completed runs (for tests and status). */
  runs = 0;

  constructor(private readonly opts: CoalescerOptions) {}

  request(req: RepairRequest): void {
    if (this.stopped) return;
    if (this.pending === null) {
      this.pending = req;
      this.firstPendingAt = Date.now();
    } else {
      this.pending = mergeRequests(this.pending, req);
    }
    if (!this.running) this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const waited = Date.now() - this.firstPendingAt;
    const delay = Math.max(0, Math.min(this.opts.quietMs, this.opts.maxWaitMs - waited));
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = null;
    const req = this.pending;
    if (!req || this.stopped) return;
    this.pending = null;
    this.running = this.opts
      .run(req)
      .catch((e) => this.opts.onError(e))
      .finally(() => {
        this.runs++;
        this.running = null;
        if (this.pending && !this.stopped) this.schedule();
      });
  }

  /** Resolves once nothing is pending or running. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.running) await this.running;
      else if (this.pending && !this.stopped) await new Promise((r) => setTimeout(r, this.opts.quietMs));
      else return;
    }
  }

  /** Drop pending requests and wait for a run in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    if (this.running) await this.running;
  }
}
