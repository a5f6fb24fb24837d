import type { LeaseViewRow } from '../observe/lease-view.js';
import { renderColumns } from './columns.js';

const two = (n: number) => String(n).padStart(2, '0');

/** Seconds since the epoch as local wall-clock time, `2026-11-30 23:14:05` (as `virsh net-dhcp-leases`); null = "never". */
export function formatExpiry(expiry: number | null): string {
  if (expiry === null) return 'never';
  const d = new Date(expiry * 1000);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** `natnet-hook leases`: one row per active lease, with a header row. */
export function renderLeasesTable(rows: LeaseViewRow[]): string {
  if (rows.length === 0) return 'no active leases\n';
  return renderColumns(
    ['NETWORK', 'VM', 'MAC', 'IP', 'HOSTNAME', 'EXPIRES', 'TYPE'],
    rows.map((r) => [r.network, r.vm ?? '-', r.mac ?? '-', r.ip, r.hostname ?? '-', formatExpiry(r.expiry), r.kind]),
  );
}

/** `natnet-hook leases --json`: the same rows, expiry as UTC ISO time or "never" (as `status --json`). */
export function leasesJson(rows: LeaseViewRow[]): string {
  const out = rows.map(({ expiry, ...r }) => ({ ...r, expires: expiry === null ? 'never' : new Date(expiry * 1000).toISOString() }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** One reservation as `lease list` shows it. */
export interface ReservationRow {
  vm: string;
  ip: string;
  /** Reserved IPv6 address (DHCPv6), or null. */
  ip6: string | null;
  macs: string[];
  hostname: string | null;
  network: string | null;
  source: string;
}

/** `natnet-hook lease list`: one row per reservation, with a header row. */
export function renderReservationsTable(rows: ReservationRow[]): string {
  // the IP6 column only once some reservation has one: IPv4-only hosts keep their table
  const v6 = rows.some((r) => r.ip6 !== null);
  return renderColumns(
    ['VM', 'IP', ...(v6 ? ['IP6'] : []), 'MAC', 'HOSTNAME', 'NETWORK', 'SOURCE'],
    rows.map((r) => [r.vm, r.ip, ...(v6 ? [r.ip6 ?? '-'] : []), r.macs.join(',') || '(MACs from libvirt)', r.hostname ?? '-', r.network ?? '?', r.source]),
  );
}
