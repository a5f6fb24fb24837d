import type { LeaseSource } from './types.js';

export const PROTOS = ['tcp', 'udp'] as const;
export type Proto = (typeof PROTOS)[number];

/** Host ports first..last (inclusive) go to `to` (every one of them), or keep their number (`to` null). */
export interface PortSegment {
  first: number;
  last: number;
  to: number | null;
}

/** A port forward to a VM, normalised from config, leases.d, the CLI or the domain's metadata. */
export interface Forward {
  vm: string;
  proto: Proto;
  /** Host ports in canonical text ("80,443,9000-9009"). */
  port: string;
  /** Guest ports as written (canonical text), or null: the same numbers. */
  toPort: string | null;
  /** The host ports and where each goes, in rendering order. */
  segments: PortSegment[];
  /** Host address to match, or null: every local address except the bridge's. */
  listen: string | null;
  /** Allowed client CIDRs ("a.b.c.d/n", network form); empty: anyone. */
  sources: string[];
  /** The network of the VM's reservation to use, or null: the only one it has. */
  network: string | null;
  origin: LeaseSource;
}

/** A forward with its target: the VM's reserved address on `network`. What the rules render. */
export interface ResolvedForward extends Forward {
  ip: string;
  network: string;
}
