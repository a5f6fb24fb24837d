import type { LoadedConfig } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import { type ListenerStatusView, readListenerStatus } from '../listen/status-file.js';
import type { AppliedRecord } from '../model/applied.js';
import type { Network, Reservation } from '../model/types.js';
import { type ActiveLease, leaseFileText, parseLeaseFile, parseSsListening } from '../observe/dnsmasq-leases.js';
import { readIpForward } from '../observe/procfs.js';
import { driftByFamily, type FirewallDrift, isClean } from '../plan/firewall-drift.js';
import { forwardsOf } from '../plan/forwards.js';
import type { ResolvedForward } from '../model/forward.js';
import { readListeningSockets } from '../observe/listening.js';
import { type ForwardStatus, forwardStatus } from './forward-status.js';
import { reservationsFor } from '../plan/reservations.js';
import { renderHostsfile } from '../render/dnsmasq.js';
import { configChanges } from '../plan/config-changes.js';
import { runningTapsOn } from '../plan/running-vms.js';
import { AUTO_RULE, type BackendChoice, chooseBackend } from './backend.js';
import { CommandError } from '../errors.js';
import { isUnresolvedIpv6 } from '../config/network-ipv6.js';
import { BRIDGE_SYSCTLS6, readBridgeSysctls6 } from '../observe/ipv6.js';
import { FORWARDING6_KEY, readSysctl } from '../sys/sysctl.js';
import type { LinkState } from '../observe/links.js';
import { ipv6PrefixProblem } from './ipv6-prefix.js';
import type { Context } from './context.js';
import { selectNetworks } from './index.js';
import { HostObserver, readTextOrNull } from './observe.js';
import { describeBadDomains } from './domains.js';
import { describeBadApplied, dnsmasqPaths, quarantinedNetworks, readRecords } from './records.js';
import type { BadRecord } from '../state/store.js';
import { FAMILIES } from '../model/family.js';
import type { DockerFirewall } from '../observe/docker.js';
import { type DockerStatus, dockerStatus, type NetworkDockerStatus, networkDockerStatus } from './docker-status.js';
import { bridgeAddress6 } from '../net/ipv6.js';

/**
 * healthy: applied and as configured; degraded: applied, with problems; down: not applied
 * (on purpose, or never brought up); pending: applied, but the config changed since (the
 * checks then compare the host with what was applied, and `configChanged` lists the keys).
 */
export type NetworkState = 'healthy' | 'degraded' | 'down' | 'pending';

/** Version of the `status --json` document (README "status --json"); bumped when a field changes meaning or goes. */
export const STATUS_SCHEMA_VERSION = 1;

export interface NetworkStatus {
  name: string;
  state: NetworkState;
  applied: boolean;
  /** Config keys whose value differs from what was applied (state pending), e.g. ["firewall", "dhcp_range"]. */
  configChanged: string[];
  autostart: boolean;
  backend: string;
  backendWhy: string;
  bridge: {
    name: string;
    exists: boolean;
    up: boolean;
    mac: string | null;
    wantMac: string;
    addresses: string[];
    wantAddress: string;
    stp: boolean | null;
    forwardDelay: number | null;
    ports: { name: string; mac: string; vm: string | null }[];
  };
  dummy: { name: string | null; state: 'ok' | 'missing' | 'detached' | 'unsupported' | 'disabled'; why: string | null };
  forwarding: boolean;
  /** `unchecked`: why the rules could not be read (status run without root), else null. */
  firewall: FirewallDrift & { ok: boolean; unchecked: string | null };
  dnsmasq: { pid: number | null; alive: boolean; listening: string[]; hostsfileCurrent: boolean };
  reservations: Reservation[];
  pending: { vm: string; ip: string; why: string }[];
  leases: ActiveLease[];
  /** Port forwards to VMs of this network, each with its drift. */
  forwards?: ForwardStatus[];
  /** Our accepts in Docker's DOCKER-USER, per family where that chain exists (none: no Docker firewall). */
  docker?: NetworkDockerStatus[];
  /** The IPv6 side (README "status --json"), or null when the network has none. */
  ipv6: Ipv6Status | null;
  problems: string[];
}

export interface Ipv6Status {
  /** Generated (`ipv6 = "auto"`) rather than explicit. */
  auto: boolean;
  /** Gateway and prefix network; null: an auto prefix not generated yet (the first up does). */
  gateway: string | null;
  subnet: string | null;
  prefix: number;
  mode: string;
  dhcpv6: string;
  /** "FIRST-LAST" with stateful DHCPv6, else null. */
  dhcpRange: string | null;
  /** Our address gateway/prefix is on the bridge. */
  address: boolean;
  /** The bridge's IPv6 sysctls as found (null: no bridge / no IPv6 there), and what we set. */
  sysctls: Record<string, string> | null;
  wantSysctls: Record<string, string>;
  /** net.ipv6.conf.all.forwarding is 1. */
  forwarding: boolean;
}

/** The IPv6 side's status, and its problems (missing address, wrong sysctl, forwarding off). */
function ipv6Status(net: Network, br: LinkState | undefined, problems: string[]): Ipv6Status | null {
  const v6 = net.ipv6;
  if (!v6) return null;
  const unresolved = isUnresolvedIpv6(v6);
  const want = bridgeAddress6(v6);
  const sysctls = br ? readBridgeSysctls6(net.bridge) : null;
  const forwarding = readSysctl(FORWARDING6_KEY) === '1';
  const address = !unresolved && !!br?.addresses.includes(want);
  if (br && !unresolved && !address) problems.push(`bridge IPv6 address ${want} missing`);
  if (br && sysctls) {
    for (const [k, v] of Object.entries(BRIDGE_SYSCTLS6)) {
      if (sysctls[k as keyof typeof sysctls] !== v) problems.push(`bridge ${net.bridge}: ${k} is ${sysctls[k as keyof typeof sysctls]}, expected ${v}`);
    }
  } else if (br) problems.push(`bridge ${net.bridge} has no IPv6 settings (IPv6 disabled in the kernel?)`);
  if (!forwarding) problems.push('net.ipv6.conf.all.forwarding is 0');
  return {
    auto: v6.auto,
    gateway: unresolved ? null : v6.gateway,
    subnet: unresolved ? null : v6.subnet,
    prefix: v6.prefix,
    mode: v6.mode,
    dhcpv6: v6.dhcpv6,
    dhcpRange: v6.dhcpStart && !unresolved ? `${v6.dhcpStart}-${v6.dhcpEnd}` : null,
    address,
    sysctls,
    wantSysctls: { ...BRIDGE_SYSCTLS6 },
    forwarding,
  };
}

export interface StatusReport {
  schemaVersion: typeof STATUS_SCHEMA_VERSION;
  /** Every network healthy or down without a problem, nothing unconfigured, no bad record: exit 0. */
  healthy: boolean;
  autoRule: string;
  networks: NetworkStatus[];
  listener: ListenerStatusView | null;
  configWarnings: string[];
  /** Networks still applied on this host that the config no longer has (`down NAME` removes them). */
  unconfigured: string[];
  /** State records that failed validation and were set aside (*.bad), until an admin removes them. */
  badRecords: BadRecord[];
  /** Docker's firewall on this host, and whether natnet-hook's accepts are needed there. */
  docker?: DockerStatus;
}

const NO_DRIFT: FirewallDrift = { missing: [], extra: [], missingJumps: [], duplicateJumps: [] };

/** The firewall drift; without root the rules cannot be read, which status says instead of failing. */
async function readDrift(host: HostObserver, net: Network, choice: BackendChoice, forwards: ResolvedForward[], euid = process.geteuid?.() ?? 0) {
  try {
    return { drift: await host.drift(net, choice, forwards), unchecked: null };
  } catch (e) {
    if (!(e instanceof CommandError) || euid === 0) throw e;
    return { drift: NO_DRIFT, unchecked: `reading the ${choice.backend} rules needs root (run status as root)` };
  }
}

/**
 * `rec`: the network's applied record; `recordBad`: there is none because it was bad and set aside.
 * Such a network is checked against the config (degraded) while its bridge or dnsmasq is there;
 * once they are gone (a `down` keeps the *.bad file for inspection) it is down.
 */
async function networkStatus(
  ctx: Context,
  host: HostObserver,
  config: LoadedConfig,
  configured: Network,
  rec: AppliedRecord | null,
  recordBad: boolean,
  ss: string,
  dockerFw: DockerFirewall,
) {
  // the host is checked against what was applied: a config change not applied yet is `pending`, not a list of drifts
  const net = rec?.network ?? configured;
  const configChanged = rec ? configChanges(rec.network, configured) : [];
  const choice = chooseBackend(net);
  const links = await host.getLinks();
  const br = links.get(net.bridge);
  const paths = dnsmasqPaths(ctx, net);
  const { reservations, pending } = reservationsFor(net, config.leases, config.domains);
  const forwards = forwardsOf(config, net);
  const pid = host.dnsmasqPid(paths);
  const checked = !!rec || (recordBad && (!!br || pid !== null));
  const { drift, unchecked } = checked ? await readDrift(host, net, choice, forwards) : { drift: NO_DRIFT, unchecked: null };
  const problems: string[] = [];
  if (recordBad && checked) problems.push('its applied record was bad and is set aside: `natnet-hook up` takes over what is provably ours, `natnet-hook down` removes it');
  const wantAddress = `${net.gateway}/${net.prefix}`;
  if (!br) problems.push(`bridge ${net.bridge} missing`);
  else {
    if (br.kind !== 'bridge') problems.push(`${net.bridge} is a ${br.kind || 'device'}, not a bridge`);
    if (!br.up) problems.push(`bridge ${net.bridge} is down`);
    if (br.mac !== net.mac) problems.push(`bridge MAC ${br.mac}, expected ${net.mac}`);
    if (!br.addresses.includes(wantAddress)) problems.push(`bridge address ${wantAddress} missing`);
    if (br.stp !== net.stp) problems.push(`STP ${br.stp ? 'on' : 'off'}, expected ${net.stp ? 'on' : 'off'}`);
    if (br.forwardDelay !== net.forwardDelay) problems.push(`forward delay ${br.forwardDelay}s, expected ${net.forwardDelay}s`);
  }
  let dummy: NetworkStatus['dummy'] = { name: net.dummy, state: 'disabled', why: 'dummy = false in config' };
  if (net.dummy) {
    const d = links.get(net.dummy);
    if (rec?.dummyUnsupported) dummy = { name: net.dummy, state: 'unsupported', why: rec.dummyUnsupported };
    else if (!d) {
      dummy = { name: net.dummy, state: 'missing', why: null };
      problems.push(`dummy ${net.dummy} missing`);
    } else if (d.master !== net.bridge || !d.up || d.mac !== net.mac) {
      dummy = { name: net.dummy, state: 'detached', why: `master ${d.master ?? 'none'}, ${d.up ? 'up' : 'down'}, mac ${d.mac}` };
      problems.push(`dummy ${net.dummy} is not an up port of ${net.bridge} with MAC ${net.mac}`);
    } else dummy = { name: net.dummy, state: 'ok', why: null };
  }
  const forwarding = readIpForward();
  if (!forwarding) problems.push('net.ipv4.ip_forward is 0');
  if (unchecked) problems.push(`firewall not checked: ${unchecked}`);
  for (const { label, drift: d } of driftByFamily(drift)) {
    for (const m of d.missing) problems.push(`rule missing: ${label}${m}`);
    for (const m of d.extra) problems.push(`unexpected rule: ${label}${m}`);
    for (const j of d.missingJumps) problems.push(`jump missing: ${label}${j.table} ${j.from} -j ${j.to}`);
    for (const j of d.duplicateJumps) problems.push(`duplicate jump: ${label}${j.table} ${j.from} -j ${j.to}`);
  }
  const docker = checked ? networkDockerStatus(net, dockerFw) : { docker: [], problems: [] };
  problems.push(...docker.problems);
  const fwd = forwardStatus(net, choice.backend, forwards, drift, readListeningSockets());
  problems.push(...fwd.problems);
  const ipv6 = ipv6Status(net, br, problems);
  const hostsfileCurrent = readTextOrNull(paths.hosts) === renderHostsfile(reservations);
  if (pid === null) problems.push('dnsmasq not running');
  if (!hostsfileCurrent) problems.push('hostsfile differs from the configured reservations (run `natnet-hook up`)');
  // libvirt gives a tap the guest's MAC with the first octet replaced by fe: match on the rest
  const domainsByMac = new Map(config.domains.flatMap((d) => d.nics.map((n) => [n.mac.slice(2), d.vm] as const)));
  const tapOwner = new Map(config.domains.flatMap((d) => d.nics.filter((n) => n.tap).map((n) => [n.tap!, d.vm] as const)));
  for (const t of runningTapsOn(config.domains, net.bridge, links)) {
    if (t.master !== net.bridge && t.ownMac) {
      problems.push(`tap ${t.tap} of running VM ${JSON.stringify(t.vm)} is not on ${net.bridge} (${t.master ? `on ${t.master}` : 'on no bridge'}): the VM is cut off; \`natnet-hook up\` puts it back`);
    }
  }
  const ports = [...links.values()]
    .filter((l) => l.master === net.bridge)
    .map((l) => ({ name: l.name, mac: l.mac, vm: tapOwner.get(l.name) ?? domainsByMac.get(l.mac.slice(2)) ?? null }));
  const status: NetworkStatus = {
    name: net.name,
    state: !checked ? 'down' : configChanged.length ? 'pending' : problems.length ? 'degraded' : 'healthy',
    applied: !!rec,
    configChanged,
    autostart: configured.autostart,
    backend: choice.backend + (choice.variant ? ` (${choice.variant})` : ''),
    backendWhy: choice.why,
    bridge: {
      name: net.bridge,
      exists: !!br,
      up: !!br?.up,
      mac: br?.mac ?? null,
      wantMac: net.mac,
      addresses: br?.addresses ?? [],
      wantAddress,
      stp: br?.stp ?? null,
      forwardDelay: br?.forwardDelay ?? null,
      ports,
    },
    dummy,
    forwarding,
    firewall: { ...drift, ok: isClean(drift) && !unchecked, unchecked },
    dnsmasq: { pid, alive: pid !== null, listening: pid ? parseSsListening(ss, pid) : [], hostsfileCurrent },
    reservations,
    pending: pending.map((p) => ({ vm: p.lease.vm, ip: p.lease.ip, why: p.why })),
    leases: parseLeaseFile(leaseFileText(paths.leases)),
    forwards: fwd.forwards,
    ...(docker.docker.length ? { docker: docker.docker } : {}),
    ipv6,
    // a network that is down has nothing to check: what is missing is missing on purpose
    problems: checked ? problems : [],
  };
  return status;
}

/** Exit 0 for it: healthy, or down with nothing wrong (down on purpose; not an autostart network the running listener should have brought up). */
export function isFine(n: Pick<NetworkStatus, 'state' | 'problems'>): boolean {
  return n.state === 'healthy' || (n.state === 'down' && n.problems.length === 0);
}

/** Everything `status` shows. Read-only: never changes the host. */
export async function getStatus(ctx: Context, names?: string[]): Promise<StatusReport> {
  const config = loadConfig(ctx);
  const nets = selectNetworks(config.networks, names);
  const host = new HostObserver(ctx);
  const records = readRecords(ctx);
  const bad = quarantinedNetworks(ctx);
  const ss = (await ctx.runner.run(['ss', '-H', '-l', '-n', '-p', '-t', '-u'], { readOnly: true, allowFailure: true })).stdout;
  const listener = readListenerStatus(ctx.runDir);
  const dockerFw = await host.docker(FAMILIES, true);
  const networks: NetworkStatus[] = [];
  for (const net of nets) {
    const rec = records.find((r) => r.network.name === net.name) ?? null;
    const status = await networkStatus(ctx, host, config, net, rec, !rec && bad.includes(net.name), ss, dockerFw);
    // NetworkManager would take the bridge over (addresses, restarts): the listener saw it over D-Bus
    if (status.state !== 'down' && listener?.running && listener.nmManaged?.[net.bridge]) status.problems.push(`NetworkManager manages ${net.bridge}`);
    if (status.state === 'down' && net.autostart && listener?.running) {
      status.problems.push('autostart = true and the listener is running, but the network is not up (see the listener\'s last repair; `natnet-hook up` brings it up)');
    }
    const prefixProblem = ipv6PrefixProblem(ctx, net);
    if (prefixProblem) status.problems.push(prefixProblem);
    if (status.state === 'healthy' && status.problems.length) status.state = 'degraded';
    networks.push(status);
  }
  const unconfigured = names?.length ? [] : records.map((r) => r.network.name).filter((n) => !config.networks.some((c) => c.name === n));
  // after the reads above, which set aside what they found bad
  const badRecords = [...describeBadApplied(ctx), ...describeBadDomains(ctx)].map(({ file, why }) => ({ file, why }));
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    healthy: networks.every(isFine) && unconfigured.length === 0 && badRecords.length === 0,
    badRecords,
    autoRule: AUTO_RULE,
    networks,
    unconfigured,
    listener,
    configWarnings: config.warnings,
    docker: dockerStatus(dockerFw),
  };
}
