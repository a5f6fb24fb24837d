/** Linux interface names: 1-15 bytes, no '/', ':', whitespace, not "." or "..". */
export function isValidIfName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) <= 15 &&
    name !== '.' &&
    name !== '..' &&
    /^[A-Za-z0-9_.@+-]+$/.test(name)
  );
}

/** One DNS label per RFC 1123: letters, digits, hyphen; 1-63; no leading/trailing hyphen. */
export function isValidHostname(name: string): boolean {
  return /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name);
}

/** A DNS domain of such labels, dot separated. */
export function isValidDomain(name: string): boolean {
  return name.length <= 253 && name.split('.').every(isValidHostname);
}

/** dnsmasq's floor: it silently raises shorter lease times to two minutes. */
export const MIN_LEASE_SECONDS = 120;
/** dnsmasq multiplies in a C int: larger values overflow. */
const MAX_LEASE_SECONDS = 2 ** 31 - 1;
const LEASE_UNIT = { '': 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

/**
 * Why a dnsmasq lease time (seconds, or N with m/h/d/w, or "infinite") is not usable, or null.
 * Below two minutes dnsmasq would serve something else than written ("0" became 120 s).
 */
export function leaseTimeProblem(text: string): string | null {
  if (text === 'infinite') return null;
  const m = /^(\d{1,10})([mhdw]?)$/.exec(text);
  if (!m) return 'expected seconds, or a number with m/h/d/w, or "infinite"';
  const seconds = Number(m[1]) * LEASE_UNIT[m[2] as keyof typeof LEASE_UNIT];
  if (seconds < MIN_LEASE_SECONDS) return 'expected at least 2m (dnsmasq\'s minimum lease time), or "infinite"';
  if (seconds > MAX_LEASE_SECONDS) return 'expected at most 68 years (2147483647 seconds), or "infinite"';
  return null;
}

export function isValidLeaseTime(text: string): boolean {
  return leaseTimeProblem(text) === null;
}

const LOWER_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Hostname dnsmasq will serve for a VM without an explicit one: the VM name lower-cased
 * with anything outside a DNS label turned into '-', or null when nothing usable is left.
 */
export function hostnameFromVmName(vm: string): string | null {
  // most VM names already are a DNS label: no folding needed (this runs per lease on every load)
  if (LOWER_LABEL.test(vm)) return vm;
  // only non-ASCII names need folding (é → e); most are plain, and this runs per reservation
  const ascii = /^[\x20-\x7e]*$/.test(vm) ? vm : vm.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const label = ascii
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label && isValidHostname(label) ? label : null;
}

/** The hostname a lease gives its VM in DNS: the one written, else the one derived from the VM name. */
export function leaseHostname(l: { vm: string; hostname: string | null }): string | null {
  return l.hostname ?? hostnameFromVmName(l.vm);
}
