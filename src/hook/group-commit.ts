import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../apply/atomic-write.js';
import { preparePendingFile, prepareResultFile } from '../state/layout.js';
import { acquireLock, type HeldLock, type LockOptions, processWide } from '../state/lock.js';
import { oneLine } from './outcome.js';
import type { Decision } from './prefilter.js';
import { type ConfigInputs, configInputs, type FingerprintPaths, forgetFingerprint, writeFingerprint } from './prepare-fingerprint.js';

/**
 * Group commit of concurrent `prepare`s. A prepare of a VM on our bridges that the fingerprint
 * does not settle writes a request into <runDir>/prepare-pending and waits for the host lock.
 * Whoever gets it leads: it applies every pending request with ONE engine run and writes a
 * result per request (group-commit-leader.ts). The others never load the engine: they sleep on
 * the lock's socket, which wakes them when the leader releases it, and read their result; a
 * prepare that finds the lock free with its request still unanswered leads the next group.
 * A leader that dies leaves the requests pending (they are removed only once answered) and the
 * kernel frees the lock, so the next waiter leads them.
 * Part of the hook's CommonJS prefilter bundle: node: builtins and small modules only.
 */
export interface PrepareRequest {
  id: string;
  pid: number;
  /** The VM name as libvirt passed it (argv). */
  vm: string;
  xml: string;
  /** Our networks the XML names (regex scan); the leader derives them again from the parsed XML. */
  networks: string[];
}

export interface PrepareResult {
  id: string;
  /** The VM's name as its XML gives it ('' when unknown). */
  vm: string;
  exit: 0 | 1;
  action: string;
  networks: string[];
  /** One line (exit 1: what libvirt shows the user). */
  error?: string;
  /** The engine applied this VM's record and networks: its prepare fingerprint may be written. */
  applied: boolean;
  /** Pid of the prepare that led the group, and how many prepares it served. */
  leader: number;
  group: number;
  /** The engine's changes (the leader's own outcome only; not written for the others). */
  changes?: string[];
}

/** pid, time, randomness: unique per request, and safe as a file name (the leader parses it back). */
const REQUEST_ID = /^([1-9][0-9]{0,9})-[0-9a-z]{1,12}-[0-9a-z]{1,12}$/;

export function newRequestId(): string {
  return `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10) || '0'}`;
}

/** The requesting prepare's pid, or null when `id` is not one of ours. */
export function requesterPid(id: string): number | null {
  const m = REQUEST_ID.exec(id);
  return m ? Number(m[1]) : null;
}

type Paths = FingerprintPaths;

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

/** 0600: a domain XML may carry secrets (graphics passwords). */
export function submitRequest(p: Paths, req: PrepareRequest): void {
  writeFileAtomic(preparePendingFile(p, req.id), `${JSON.stringify(req)}\n`, 0o600);
}

export function withdrawRequest(p: Paths, id: string): void {
  unlinkQuietly(preparePendingFile(p, id));
}

export function writeResult(p: Paths, r: PrepareResult): void {
  const { changes: _mine, ...rest } = r;
  writeFileAtomic(prepareResultFile(p, r.id), `${JSON.stringify(rest)}\n`, 0o600);
}

const isLine = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max && !/[\r\n\u0000]/.test(v);

/** A result read back from disk, validated: networks must be ones we know (they name files). */
export function parseResult(text: string, id: string, known: string[]): PrepareResult | null {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || v.id !== id || (v.exit !== 0 && v.exit !== 1)) return null;
  if (!isLine(v.vm, 4096) || !isLine(v.action, 1000) || (v.error !== undefined && !isLine(v.error, 16_384))) return null;
  if (!Array.isArray(v.networks) || !v.networks.every((n) => typeof n === 'string' && known.includes(n))) return null;
  if (typeof v.applied !== 'boolean' || !Number.isInteger(v.leader) || !Number.isInteger(v.group)) return null;
  if (v.exit === 1 && v.error === undefined) return null;
  return {
    id,
    vm: v.vm,
    exit: v.exit,
    action: v.action,
    networks: v.networks as string[],
    ...(v.error !== undefined ? { error: v.error as string } : {}),
    applied: v.applied,
    leader: v.leader as number,
    group: v.group as number,
  };
}

/** This request's result (consumed), an error result when it is unreadable, or null when there is none yet. */
export function takeResult(p: Paths, req: PrepareRequest, known: string[]): PrepareResult | null {
  const file = prepareResultFile(p, req.id);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    text = '';
  }
  unlinkQuietly(file);
  return (
    parseResult(text, req.id, known) ?? {
      id: req.id,
      vm: req.vm,
      exit: 1,
      action: 'refused',
      networks: [],
      error: `VM ${JSON.stringify(req.vm)} not started: ${file}: not a valid answer of the prepare group commit (start it again)`,
      applied: false,
      leader: 0,
      group: 0,
    }
  );
}

export type Turn = { result: PrepareResult } | { lead: HeldLock };

/** Waits (bounded, cheaply) until this request is answered or its requester holds the lock. */
export async function awaitTurn(p: Paths, req: PrepareRequest, known: string[], opts: LockOptions = {}): Promise<Turn> {
  const answered = prepareResultFile(p, req.id);
  for (;;) {
    const held = await acquireLock(p.runDir, { ...opts, unless: () => existsSync(answered) });
    // answered while we took the lock: the leader released it right after writing our result
    const result = takeResult(p, req, known);
    if (result) {
      held?.release();
      return { result };
    }
    if (held) return { lead: held };
  }
}

/** A prepare that got the lock in the fast path hands it to the full path of the same process. */
export interface Handover {
  runDir: string;
  req: PrepareRequest;
  lock: HeldLock;
  /** The config's keys taken before the request was made (for the fingerprint). */
  inputs: ConfigInputs;
}

const HANDOVER = processWide('prepare-handover', () => ({ current: null as Handover | null }));

export function takeHandover(runDir: string): Handover | null {
  const h = HANDOVER.current;
  if (!h || h.runDir !== runDir) return null;
  HANDOVER.current = null;
  return h;
}

export const notStarted = (vm: string, e: unknown) => `VM ${JSON.stringify(vm)} not started: ${oneLine(e)}`;

/** What a prepare reports for its result; an applied VM gets its fingerprint (the next unchanged prepare skips the engine). */
export function settle(p: Paths, req: PrepareRequest, inputs: ConfigInputs, r: PrepareResult): Decision {
  if (r.exit === 0 && r.applied) {
    try {
      // keyed on the name libvirt passes (argv), which is what the fast path sees
      writeFingerprint(p, req.vm, req.xml, r.networks, inputs);
    } catch {
      // only a missed shortcut next time
    }
  }
  const by = r.leader && r.leader !== process.pid ? ` (group commit of ${r.group} led by pid ${r.leader})` : '';
  const error = r.error !== undefined ? { error: r.error } : {};
  return r.exit === 0 ? { action: `${r.action}${by}`, networks: r.networks, ...error } : { exit: 1, action: `${r.action}${by}`, networks: r.networks, ...error };
}

/**
 * The prepare of a VM on our bridges: request it and wait. Returns the settled decision, or
 * null when this process now holds the lock and must lead (takeHandover() in the full path).
 * A wait that runs out is this VM's one error line (exit 1), never a hang.
 */
export async function requestPrepare(
  p: Paths,
  vm: string,
  xml: string,
  networks: string[],
  known: string[],
  opts: Pick<LockOptions, 'onHeld' | 'waitMs'> = {},
): Promise<Decision | null> {
  if (HANDOVER.current?.runDir === p.runDir) return null; // asked again by the full path: we lead
  forgetFingerprint(p.runDir, vm);
  // before any leader loads the config: an edit made later then never matches the recorded keys
  const inputs = configInputs(p);
  const req: PrepareRequest = { id: newRequestId(), pid: process.pid, vm, xml, networks };
  try {
    submitRequest(p, req);
  } catch {
    // unwritable (full disk): nobody can answer it, so we lead it ourselves once we get the lock
  }
  // a hook's stderr is the one line libvirt shows: who held the lock goes to the hook log
  let waitedFor = '';
  const onHeld =
    opts.onHeld ??
    ((holder: string) => {
      waitedFor = `; waited over 2 s for the lock held by ${holder}`;
    });
  let turn: Turn;
  try {
    turn = await awaitTurn(p, req, known, { ...opts, onHeld });
  } catch (e) {
    withdrawRequest(p, req.id);
    return { exit: 1, action: 'refused', networks, error: notStarted(vm, e) };
  }
  if ('lead' in turn) {
    HANDOVER.current = { runDir: p.runDir, req, lock: turn.lead, inputs };
    return null;
  }
  const d = settle(p, req, inputs, turn.result);
  return waitedFor ? { ...d, action: `${d.action}${waitedFor}` } : d;
}
