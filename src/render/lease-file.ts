import type { Lease } from '../model/types.js';

/** TOML string with every character that needs it escaped (VM names may hold quotes, unicode...). */
export function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\u007f/g, '\\u007f');
}

/** A leases.d file as `lease add` writes it. */
export function renderLeaseFile(l: Lease): string {
  const lines = ['# written by natnet-hook lease add; edit freely', `vm = ${tomlString(l.vm)}`, `ip = ${tomlString(l.ip)}`];
  if (l.macs.length) lines.push(`mac = [${l.macs.map(tomlString).join(', ')}]`);
  if (l.hostname) lines.push(`hostname = ${tomlString(l.hostname)}`);
  return `${lines.join('\n')}\n`;
}
