/** What `firewall =` may say; `auto` picks one of the BACKENDS (engine/backend.ts). */
export const FIREWALLS = ['iptables', 'nftables', 'auto'] as const;
export type Firewall = (typeof FIREWALLS)[number];
export const BACKENDS = ['iptables', 'nftables'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Desired state of one NAT network, normalised from config. */
export interface Network {
  name: string;
  bridge: string;
  /** Bridge MAC, lower-case colon form. Also the dummy's MAC. */
  mac: string;
  /** Gateway address on the bridge, e.g. 192.168.100.1 */
  gateway: string;
  prefix: number;
  /** Network address, e.g. 192.168.100.0 */
  subnet: string;
  /** Dummy anchor interface name, or null when disabled. */
  dummy: string | null;
  stp: boolean;
  /** Forward delay in seconds. */
  forwardDelay: number;
  firewall: Firewall;
  /** Outbound interface for MASQUERADE, or null for any. */
  outbound: string | null;
  dhcpStart: string;
  dhcpEnd: string;
  /** dnsmasq lease time, e.g. "12h", "infinite". */
  leaseTime: string;
  /** DNS domain served for the VM names. */
  domain: string;
  /** Brought up by the listener at boot. */
  autostart: boolean;
  /** Take the network down when the last VM using it stops. */
  downWhenIdle: boolean;
  /**
   * An existing bridge of this name that natnet-hook did not create may be taken over (its MAC,
   * STP and state rewritten; `down` leaves it). Without it, `up` refuses such a bridge.
   */
  adopt: boolean;
  /** The optional IPv6 side (issue 11); null = IPv4 only, the handbook network. */
  ipv6: Ipv6Network | null;
}

export const IPV6_MODES = ['nat66', 'routed'] as const;
export type Ipv6Mode = (typeof IPV6_MODES)[number];
export const DHCPV6_MODES = ['stateless', 'stateful'] as const;
export type Dhcpv6Mode = (typeof DHCPV6_MODES)[number];

/**
 * IPv6 on a network. All addresses in RFC 5952 text (net/ipv6.ts formatIPv6). With `ipv6 = "auto"`
 * the prefix is generated once and kept in the state; a Network reaching a planner or renderer
 * always has it resolved (gateway/subnet filled).
 */
export interface Ipv6Network {
  /** Configured as "auto" (a generated RFC 4193 /64) rather than an explicit address. */
  auto: boolean;
  /** Gateway address on the bridge, e.g. fd00:1:2:3::1 */
  gateway: string;
  /** 64 for SLAAC. */
  prefix: number;
  /** Network address, e.g. fd00:1:2:3:: */
  subnet: string;
  /** nat66: masquerade to outside the prefix; routed: no NAT (a delegated global prefix). */
  mode: Ipv6Mode;
  /** stateless: SLAAC + DNS via RA; stateful: DHCPv6 addresses from the range (needed for ip6 reservations). */
  dhcpv6: Dhcpv6Mode;
  /** The DHCPv6 pool with `stateful`, else null. */
  dhcpStart: string | null;
  dhcpEnd: string | null;
  /** Set accept_ra=2 on interfaces with RA-learned routes instead of refusing to enable forwarding. */
  fixAcceptRa: boolean;
}

export interface LeaseSource {
  /** File the lease came from, or "domain <vm> metadata". */
  file: string;
  /** Field path inside the file, e.g. "lease[2]". */
  field: string;
}

/** A static DHCP reservation. */
export interface Lease {
  vm: string;
  ip: string;
  /** Reserved IPv6 address (DHCPv6, `dhcpv6 = "stateful"` only), or null. */
  ip6: string | null;
  /** Lower-case MACs; empty = every MAC the VM has on the network (learned by the hook). */
  macs: string[];
  hostname: string | null;
  source: LeaseSource;
}

export interface Config {
  /** File the config came from (may not exist: built-in default). */
  file: string;
  networks: Network[];
  leases: Lease[];
}

/** One hostsfile entry dnsmasq serves: MACs -> IP (+ name). */
export interface Reservation {
  vm: string;
  macs: string[];
  ip: string;
  /** dnsmasq `dhcp-host=MAC,IPv4,[IPv6],name`; null = none. */
  ip6: string | null;
  hostname: string;
}

/** What the qemu/network hooks know of a VM, recorded in the state dir. */
export interface DomainNic {
  mac: string;
  bridge: string;
  /** Host-side tap, known from `start` on. */
  tap?: string;
}

export interface DomainRecord {
  vm: string;
  uuid?: string;
  nics: DomainNic[];
  /** Reservations carried in the domain's <metadata> (lowest trust). */
  metadataLeases: { ip: string; ip6?: string; mac?: string; hostname?: string }[];
  /** Port forwards carried in the domain's <metadata> (lowest trust; absent in older records). */
  metadataForwards?: { port: string; proto?: string; toPort?: string; listen?: string; source?: string }[];
  running: boolean;
  /** ISO time of the last hook event. */
  updated: string;
  /** ISO time libvirt said it migrated to another host (release with reason `migrated`); gone once it runs here again. */
  migratedAt?: string;
}
