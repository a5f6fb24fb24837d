/** One line of dnsmasq's lease file: `EXPIRY MAC IP HOSTNAME CLIENTID`. */
export interface ActiveLease {
  expires: string;
  mac: string;
  ip: string;
  hostname: string | null;
}

export function parseLeaseFile(text: string): ActiveLease[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[0]))
    .map(([expiry, mac, ip, hostname]) => ({
      expires: expiry === '0' ? 'never' : new Date(Number(expiry) * 1000).toISOString(),
      mac,
      ip,
      hostname: hostname === '*' ? null : hostname,
    }));
}

/** `ss -Hlnp -t -u` lines → local addresses the given pid listens on. */
export function parseSsListening(text: string, pid: number): string[] {
  return text
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return `${f[0]} ${f[4]}`;
    });
}
