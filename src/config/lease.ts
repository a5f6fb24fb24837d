import type { Lease } from '../model/types.js';
import { parseIPv4 } from '../net/ipv4.js';
import { formatIPv6, parseIPv6 } from '../net/ipv6.js';
import { macProblem, normaliseMac } from '../net/mac.js';
import { isValidHostname } from '../net/names.js';
import { LEASE_KEYS } from './defaults.js';
import { joinField, type Problems } from './problems.js';

type Raw = Record<string, unknown>;

/**
 * The one form of a VM name inside natnet-hook: Unicode NFC, so "é" typed precomposed and as e +
 * combining accent is one VM. Applied where a name enters: config, leases.d, `lease add/rm`,
 * domain records.
 */
export function normaliseVmName(vm: string): string {
  return vm.normalize('NFC');
}

/** libvirt refuses names with '/' and control characters; anything else (spaces, quotes, unicode) is legal. */
export function vmNameProblem(vm: string): string | null {
  if (vm.length === 0) return 'expected a non-empty VM name';
  if (vm.includes('/')) return 'expected a VM name without "/"';
  if (/[\u0000-\u001f\u007f]/.test(vm)) return 'expected a VM name without control characters (newline, tab, ...)';
  if (Buffer.byteLength(vm) > 1024) return 'expected a VM name of at most 1024 bytes';
  return null;
}

/** Each key of a table that is not one of `known` is a problem naming it. */
export function checkKnownKeys(raw: Raw, known: Set<string>, field: string, p: Problems): void {
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) p.add(joinField(field, key), raw[key], `unknown key (known: ${[...known].join(', ')})`);
  }
}

/** The table's `vm` (or the VM of the leases.d file it is in), NFC-normalised; problems when it is not a valid name. */
export function vmField(raw: Raw, field: string, p: Problems, fixedVm?: string): unknown {
  const given = raw.vm ?? fixedVm;
  const vm = typeof given === 'string' ? normaliseVmName(given) : given;
  if (typeof vm !== 'string') p.add(joinField(field, 'vm'), vm, 'expected the VM (libvirt domain) name as a string');
  else {
    const why = vmNameProblem(vm);
    if (why) p.add(joinField(field, 'vm'), vm, why);
  }
  return vm;
}

/** One lease table (config [[lease]] or a leases.d file) → Lease, or null. */
export function normaliseLease(raw: Raw, field: string, p: Problems, fixedVm?: string): Lease | null {
  const before = p.list.length;
  checkKnownKeys(raw, LEASE_KEYS, field, p);
  const vm = vmField(raw, field, p, fixedVm);
  const ip = raw.ip;
  if (typeof ip !== 'string' || parseIPv4(ip) === null) p.add(joinField(field, 'ip'), ip, 'expected an IPv4 address like 192.168.100.10');

  const ip6 = ip6Field(raw.ip6, joinField(field, 'ip6'), p);

  const macsRaw = raw.mac === undefined ? [] : Array.isArray(raw.mac) ? raw.mac : [raw.mac];
  const macs: string[] = [];
  macsRaw.forEach((m, i) => {
    const mac = typeof m === 'string' ? normaliseMac(m) : null;
    const f = Array.isArray(raw.mac) ? joinField(field, `mac[${i}]`) : joinField(field, 'mac');
    const why = mac === null ? 'expected a MAC address like 52:54:00:aa:bb:01' : macProblem(mac);
    if (why !== null) p.add(f, m, why);
    else if (macs.includes(mac!)) p.add(f, m, 'expected each MAC once');
    else macs.push(mac!);
  });

  let hostname: string | null = null;
  if (raw.hostname !== undefined) {
    if (typeof raw.hostname === 'string' && isValidHostname(raw.hostname)) hostname = raw.hostname.toLowerCase();
    else p.add(joinField(field, 'hostname'), raw.hostname, 'expected a DNS label: 1-63 letters, digits or "-", not starting or ending with "-"');
  }
  if (p.list.length > before) return null;
  return { vm: vm as string, ip: ip as string, ip6, macs, hostname, source: { file: p.file, field } };
}

/** A lease's optional `ip6`, in RFC 5952 form (the one form dnsmasq's hostsfile, validation and views compare); null when absent. */
export function ip6Field(given: unknown, field: string, p: Problems): string | null {
  if (given === undefined) return null;
  const n = typeof given === 'string' ? parseIPv6(given) : null;
  if (n === null) {
    p.add(field, given, 'expected an IPv6 address like fd00:1:2:3::10 (no prefix length, no brackets)');
    return null;
  }
  return formatIPv6(n);
}
