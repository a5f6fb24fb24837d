const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-case colon form, or null when not a MAC. Accepts '-' separators too. */
export function normaliseMac(text: string): string | null {
  const mac = text.trim().toLowerCase().replace(/-/g, ':');
  return MAC.test(mac) ? mac : null;
}

/** The group bit (first octet odd): multicast, which includes broadcast ff:ff:ff:ff:ff:ff. */
export function isMulticastMac(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/**
 * Why a MAC (in normaliseMac's form) cannot belong to one NIC, or null when it can: a reservation
 * or a bridge needs a unicast address, never multicast, broadcast or all-zero. The one rule for
 * config, leases.d, `lease add --mac` and records read back from disk.
 */
export function macProblem(mac: string): string | null {
  if (mac === 'ff:ff:ff:ff:ff:ff') return 'expected a unicast MAC, not the broadcast address';
  if (isMulticastMac(mac)) return 'expected a unicast MAC, not a multicast one (the first octet must be even)';
  if (mac === '00:00:00:00:00:00') return 'expected a unicast MAC, not all zeros';
  return null;
}

export function isUnicastMac(mac: string): boolean {
  return macProblem(mac) === null;
}
