const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-case colon form, or null when not a MAC. Accepts '-' separators too. */
export function normaliseMac(text: string): string | null {
  const mac = text.trim().toLowerCase().replace(/-/g, ':');
  return MAC.test(mac) ? mac : null;
}

export function isMulticastMac(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1;
}
