import type { Lease } from '../model/types.js';
import type { Forward } from '../model/forward.js';

/** TOML string with every character that needs it escaped (VM names may hold quotes, unicode...). */
export function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\u007f/g, '\\u007f');
}

/** A leases.d file as `lease add` writes it. */
export function renderLeaseFile(l: Lease): string {
  return `${['# written by natnet-hook lease add; edit freely', ...leaseKeyLines(l)].join('\n')}\n`;
}

/** A lease's keys, one `key = value` line each (top level of a file or inside [[lease]]). */
function leaseKeyLines(l: Lease): string[] {
  const lines = [`vm = ${tomlString(l.vm)}`, `ip = ${tomlString(l.ip)}`];
  if (l.ip6) lines.push(`ip6 = ${tomlString(l.ip6)}`);
  if (l.macs.length) lines.push(`mac = [${l.macs.map(tomlString).join(', ')}]`);
  if (l.hostname) lines.push(`hostname = ${tomlString(l.hostname)}`);
  return lines;
}

/** One [[forward]] table as `forward add` writes it (vm always written: the file may hold no lease). */
export function renderForwardTable(f: Forward): string {
  const lines = ['[[forward]]', `vm = ${tomlString(f.vm)}`, `proto = ${tomlString(f.proto)}`, `port = ${tomlString(f.port)}`];
  if (f.toPort !== null) lines.push(`to_port = ${tomlString(f.toPort)}`);
  if (f.listen !== null) lines.push(`listen = ${tomlString(f.listen)}`);
  if (f.sources.length) lines.push(`source = [${f.sources.map(tomlString).join(', ')}]`);
  if (f.network !== null) lines.push(`network = ${tomlString(f.network)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A VM's leases.d file with its leases and forwards: one lease at top level (as `lease add`
 * writes it), several as [[lease]] tables, then one [[forward]] table per forward.
 */
export function renderVmFile(leases: Lease[], forwards: Forward[]): string {
  let head: string;
  if (leases.length === 1) head = renderLeaseFile(leases[0]);
  else {
    head = '# written by natnet-hook; edit freely\n';
    for (const l of leases) head += `\n${['[[lease]]', ...leaseKeyLines(l)].join('\n')}\n`;
  }
  return [head, ...forwards.map(renderForwardTable)].join('\n');
}
