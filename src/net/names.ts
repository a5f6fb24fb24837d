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

/** dnsmasq lease time: seconds, or N with m/h/d/w, or "infinite". */
export function isValidLeaseTime(text: string): boolean {
  return text === 'infinite' || /^\d+[mhdw]?$/.test(text);
}

/**
 * Hostname dnsmasq will serve for a VM without an explicit one: the VM name lower-cased
 * with anything outside a DNS label turned into '-', or null when nothing usable is left.
 */
export function hostnameFromVmName(vm: string): string | null {
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
