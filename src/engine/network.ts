import { mkdirSync } from 'node:fs';
import { executeStep } from '../apply/execute.js';
import { isUnresolvedIpv6 } from '../config/network-ipv6.js';
import { FORWARDING4_KEY, FORWARDING6_KEY, ipv6ConfIface, ipv6ConfKey, readSysctl, sysctlName, writeSysctl } from '../sys/sysctl.js';
import type { LoadedConfig } from '../config/load.js';
import { NatnetError } from '../errors.js';
import { type AppliedRecord, type HostChanges, unionRecords } from '../model/applied.js';
import type { Network } from '../model/types.js';
import { availableIptablesVariants } from '../observe/iptables.js';
import type { LinkState } from '../observe/links.js';
import { observeIpChains } from '../observe/nft.js';
import { readIpForward, scanOurDnsmasq } from '../observe/procfs.js';
import { firstUnsearchableDir } from '../observe/searchable.js';
import { FAMILIES, familiesOf } from '../model/family.js';
import { dockerFirewallFound } from '../observe/docker.js';
import { staleDockerUser, wantedDockerUser } from '../plan/docker-user.js';
import { notOurLink } from '../plan/ownership.js';
import { type DesiredNetwork, PlanConflict } from '../plan/plan-network.js';
import { oldFirewallsOf, planUp, type UpObservation, type UpPlan } from '../plan/plan-up.js';
import { preflightError, preflightProblems, toolsNeeded } from '../plan/preflight.js';
import { libvirtNetworkOfBridge } from '../observe/libvirt-bridges.js';
import { missingTools } from '../observe/tools.js';
import { planFileRemoval, planIptablesNftLeftovers, planTeardown, recordFromEvidence } from '../plan/plan-teardown.js';
import { boundForwardPorts, describeBound, forwardsOf } from '../plan/forwards.js';
import { readListeningSockets } from '../observe/listening.js';
import { reservationsFor } from '../plan/reservations.js';
import { describeStep, type Step } from '../plan/steps.js';
import { renderHostsfile } from '../render/dnsmasq.js';
import { appliedFile, quarantineFile } from '../state/layout.js';
import { IP6_JUMP_CHAINS, JUMP_CHAINS } from '../render/iptables.js';
import { type BackendChoice, chooseBackend } from './backend.js';
import type { Context } from './context.js';
import type { HostObserver } from './observe.js';
import {
  dnsmasqPaths,
  mergeHostChanges,
  quarantinedNetworks,
  readHostChanges,
  readRecords,
  removeHostChanges,
  removeRecord,
  writeHostChanges,
  writeRecord,
} from './records.js';
import { bridgeAddress6 } from '../net/ipv6.js';

function sameRecord(a: AppliedRecord, b: AppliedRecord): boolean {
  return JSON.stringify({ ...a, appliedAt: '' }) === JSON.stringify({ ...b, appliedAt: '' });
}

/** Bridges a record claims (its links, and the bridges its rules name). */
const bridgesOf = (r: AppliedRecord) => new Set([...r.links.bridges.map((b) => b.name), ...r.firewalls.map((f) => f.bridge)]);

/**
 * Taps of running VMs (from the hook records) that belong on this network's bridge: those whose
 * record names the bridge or a bridge of ours it replaces (a rename: the VMs' XML still names the
 * old one), and, only while detached (our bridge was deleted), a bridge it replaced earlier. A
 * name another configured network uses now is never ours.
 */
function runningTaps(config: LoadedConfig, net: Network, previous: AppliedRecord | null): NonNullable<DesiredNetwork['taps']> {
  const others = new Set(config.networks.filter((n) => n.name !== net.name).map((n) => n.bridge));
  const current = new Set([net.bridge, ...(previous?.links.bridges ?? []).map((b) => b.name)].filter((b) => !others.has(b)));
  const earlier = new Set((previous?.links.bridges ?? []).flatMap((b) => b.replaced ?? []).filter((b) => !others.has(b) && !current.has(b)));
  return config.domains
    .filter((d) => d.running)
    .flatMap((d) =>
      d.nics
        .filter((n) => n.tap && (current.has(n.bridge) || earlier.has(n.bridge)))
        .map((n) => ({ name: n.tap!, mac: n.mac, ...(current.has(n.bridge) ? {} : { onlyIfDetached: true }) })),
    );
}

/**
 * The record of a network whose applied record was bad: the links on the host that are
 * provably ours (our kind, our pinned MAC) are adopted, so a later `down` removes them.
 */
function adoptFromEvidence(net: Network, choice: BackendChoice, links: Map<string, LinkState>): AppliedRecord {
  const rec = recordFromEvidence(net, choice.backend, choice.variant);
  const br = links.get(net.bridge);
  const bridgeOurs = !!br && !notOurLink(br, 'bridge', net.mac);
  const dummy = net.dummy ? links.get(net.dummy) : undefined;
  const address = `${net.gateway}/${net.prefix}`;
  const ours = [address, ...(net.ipv6 ? [bridgeAddress6(net.ipv6)] : [])];
  return {
    ...rec,
    links: {
      bridges: [{ name: net.bridge, created: bridgeOurs, addresses: bridgeOurs ? ours.filter((a) => br.addresses.includes(a)) : [] }],
      dummies: net.dummy ? [{ name: net.dummy, created: !!dummy && !notOurLink(dummy, 'dummy', net.mac) }] : [],
    },
    appliedAt: new Date().toISOString(),
  };
}

/** Host-wide changes the plan is about to make: ip_forward, and iptables-nft tables/chains its rules create. */
async function hostIntents(ctx: Context, plan: UpPlan, choice: BackendChoice, net: Network): Promise<HostChanges> {
  const out: HostChanges = {
    enabledForwarding: plan.steps.some((s) => s.kind === 'forwarding'),
    iptablesTablesCreated: [],
    iptablesChainsCreated: [],
    enabledForwarding6: plan.steps.some((s) => s.kind === 'sysctl' && s.host === 'forwarding6'),
    acceptRaFixed: plan.steps.flatMap((s) =>
      s.kind === 'sysctl' && s.host === 'accept_ra' && s.was !== null ? [{ iface: ipv6ConfIface(s.key) ?? '', was: s.was }].filter((f) => f.iface) : [],
    ),
  };
  if (choice.variant === 'nft' && plan.appliesFirewall) {
    const before = await observeIpChains(ctx.runner);
    out.iptablesTablesCreated = (['nat', 'filter'] as const).filter((t) => !before.tables.has(t));
    out.iptablesChainsCreated = JUMP_CHAINS.filter((c) => before.tables.has(c.split(' ')[0]) && !before.chains.has(c));
    if (net.ipv6) {
      const before6 = await observeIpChains(ctx.runner, 'ip6');
      const created = {
        tables: (['nat', 'filter'] as const).filter((t) => !before6.tables.has(t)),
        chains: IP6_JUMP_CHAINS.filter((c) => before6.tables.has(c.split(' ')[0]) && !before6.chains.has(c)),
      };
      if (created.tables.length || created.chains.length) out.ip6tablesCreated = created;
    }
  }
  return out;
}

const claimsSomething = (h: HostChanges) =>
  h.enabledForwarding ||
  h.iptablesTablesCreated.length > 0 ||
  h.iptablesChainsCreated.length > 0 ||
  !!h.enabledForwarding6 ||
  !!h.acceptRaFixed?.length ||
  !!h.ip6tablesCreated?.tables.length ||
  !!h.ip6tablesCreated?.chains.length;

export interface NetworkActions {
  /** describeStep() of each step run (or, in a dry run, planned), in order: `plan` prints the same. */
  actions: string[];
  /** What was left and why (a link that is not ours). */
  notes: string[];
}

/** What planning needs to know about the host beyond the network's own components. */
async function observeUp(ctx: Context, host: HostObserver, d: DesiredNetwork, previous: AppliedRecord | null, others: AppliedRecord[]): Promise<UpObservation> {
  const choice = { backend: d.backend, variant: d.iptablesVariant, why: '' };
  const reading = host.network(d.net, choice, d.paths, previous, d.forwards ?? []);
  // Docker's DOCKER-USER, read alongside: from the dump our own iptables rules come from when that
  // is the backend (no extra process), else its own iptables-save in parallel (never rejects)
  const dockerReading = host.docker(familiesOf(d.net));
  const base = await reading;
  const old = oldFirewallsOf(d, previous);
  const oldFirewalls = await host.firewalls(d.net, old, !!d.net.ipv6 || !!previous?.network.ipv6);
  let iptablesNft: UpObservation['iptablesNft'] = null;
  const changes = old.some((f) => f.iptablesVariant === 'nft') ? readHostChanges(ctx) : null;
  if (changes && (changes.iptablesTablesCreated.length || changes.iptablesChainsCreated.length) && availableIptablesVariants().includes('nft')) {
    const [dump, existing] = await Promise.all([host.iptables('nft'), observeIpChains(ctx.runner)]);
    iptablesNft = { changes, dump, existing };
  }
  const docker = await dockerReading;
  const oldDockerUser = await host.dockerUserFound(staleDockerUser(previous?.dockerUser ?? [], wantedDockerUser(d.net, docker), docker.unread));
  // ip6tables-nft tables up created may empty when an old iptables-nft firewall goes or IPv6 is turned off
  let iptablesNft6: UpObservation['iptablesNft6'] = null;
  const six = old.some((f) => f.iptablesVariant === 'nft') || (d.iptablesVariant === 'nft' && !d.net.ipv6 && !!previous?.network.ipv6)
      ? readHostChanges(ctx)?.ip6tablesCreated
      : undefined;
  if (six && (six.tables.length || six.chains.length) && availableIptablesVariants().includes('nft')) {
    const [dump, existing] = await Promise.all([host.ip6tables('nft'), observeIpChains(ctx.runner, 'ip6')]);
    if (dump) iptablesNft6 = { changes: six, dump, existing };
  }
  return {
    ...base,
    oldFirewalls,
    iptablesNft,
    docker,
    oldDockerUser,
    iptablesNft6,
    others: others.map((r) => {
      const paths = dnsmasqPaths(ctx, r.network);
      return { name: r.network.name, paths, dnsmasqPids: scanOurDnsmasq(paths.conf) };
    }),
  };
}

/**
 * Brings one network to its configured state: observes once, plans every step (teardown of
 * stale components included, see plan/plan-up.ts), records the intents, then runs the plan.
 */
export async function applyNetwork(ctx: Context, host: HostObserver, config: LoadedConfig, net: Network): Promise<NetworkActions> {
  if (net.ipv6 && isUnresolvedIpv6(net.ipv6)) throw new NatnetError(`network ${net.name}: its generated IPv6 prefix is not known (internal: ensureIpv6Prefixes was not run)`);
  const choice = chooseBackend(net);
  const records = readRecords(ctx);
  const paths = dnsmasqPaths(ctx, net);
  const closed = firstUnsearchableDir(paths.hosts);
  if (closed) {
    throw new NatnetError(
      `${closed} is not searchable by other users: dnsmasq re-reads ${paths.hosts} as 'nobody' after SIGHUP and would drop every reservation (chmod o+x ${closed}, or use another --state-dir)`,
    );
  }
  const own = records.find((r) => r.network.name === net.name) ?? null;
  // a network renamed on the same bridge: its record's links and rules are this network's now
  const others = records.filter((r) => r.network.name !== net.name && bridgesOf(r).has(net.bridge));
  const wasBad = !own && quarantinedNetworks(ctx).includes(net.name);
  const base = own ?? (wasBad ? adoptFromEvidence(net, choice, await host.getLinks()) : null);
  const previous = others.reduce<AppliedRecord | null>((acc, r) => (acc ? unionRecords(r, acc) : r), base);
  const { reservations, pending } = reservationsFor(net, config.leases, config.domains);
  for (const p of pending) ctx.log.debug({ vm: p.lease.vm }, p.why);
  const forwards = forwardsOf(config, net);
  if (forwards.length) for (const b of boundForwardPorts(forwards, readListeningSockets())) ctx.log.warn({ network: net.name }, describeBound(b));
  const desired: DesiredNetwork = {
    net,
    backend: choice.backend,
    iptablesVariant: choice.variant,
    paths,
    hostsText: renderHostsfile(reservations),
    taps: runningTaps(config, net, previous),
    forwards,
  };
  const observed = await observeUp(ctx, host, desired, previous, others);
  let plan: UpPlan;
  try {
    plan = planUp(desired, observed);
  } catch (e) {
    if (e instanceof PlanConflict) throw new NatnetError(`network ${net.name}: ${e.message}`);
    throw e;
  }
  const { steps } = plan;
  // our own old bridge (a rename) holds the subnet until its address moves: not another interface
  const oldBridges = new Set((previous?.links.bridges ?? []).map((b) => b.name).filter((b) => b !== net.bridge));
  const links = new Map([...observed.links].filter(([name]) => !oldBridges.has(name)));
  // before anything is touched: a missing program or a subnet another interface holds
  const refused = preflightError(
    preflightProblems({
      net,
      steps,
      links,
      missingTools: missingTools(toolsNeeded(steps)),
      records,
      previous,
      libvirtBridges: () => libvirtNetworkOfBridge(ctx.libDir),
      ...(observed.ipv6 ? { ipv6: observed.ipv6 } : {}),
      addsAddress: plan.addsAddress,
      addsAddress6: plan.addsAddress6,
    }),
  );
  if (refused) throw refused;
  if (!ctx.dryRun) {
    mkdirSync(ctx.libDir, { recursive: true, mode: 0o755 });
    mkdirSync(`${ctx.runDir}/dnsmasq`, { recursive: true, mode: 0o755 });
  }
  // Write-ahead: whatever the steps may create is recorded before the first of them runs (the
  // old components next to the new ones during a switch), so a `down` after a crash at any point
  // (SIGKILL included) finds and removes all of it.
  const stamp = (r: AppliedRecord): AppliedRecord => ({ ...r, appliedAt: new Date().toISOString() });
  let written = own;
  if (steps.length || previous) {
    const host0 = await hostIntents(ctx, plan, choice, net);
    if (claimsSomething(host0)) {
      const had = readHostChanges(ctx);
      const merged = mergeHostChanges(had, host0);
      if (JSON.stringify(had) !== JSON.stringify(merged)) writeHostChanges(ctx, merged);
    }
    if (!own || !sameRecord(own, plan.intended)) {
      written = stamp(plan.intended);
      writeRecord(ctx, written);
    }
    for (const r of others) removeRecord(ctx, r.network.name);
  }
  const actions: string[] = [];
  let dummyUnsupported: string | null = null;
  let releasedNft = false;
  try {
    for (const step of steps) {
      const outcome = await executeStep(ctx, step);
      actions.push(describeStep(step));
      if (step.kind === 'firewall' && step.argv[0] === 'nft' && step.argv[1] === 'delete') releasedNft = true;
      if (outcome.dummyUnsupported) {
        dummyUnsupported = outcome.dummyUnsupported;
        ctx.log.warn({ network: net.name }, outcome.dummyUnsupported);
      }
    }
  } finally {
    if (steps.length) host.invalidate();
  }
  // every step ran: the record is the desired components only (after a failure the intents stay)
  const done = dummyUnsupported ? { ...plan.target, links: { ...plan.target.links, dummies: [] }, dummyUnsupported } : plan.target;
  if ((previous || steps.length) && (!written || !sameRecord(written, done))) writeRecord(ctx, stamp(done));
  if (releasedNft && !ctx.dryRun) await forgetReleasedNftTables(ctx);
  return { actions, notes: plan.notes };
}

/** IPv6 forwarding and the accept_ra of RA interfaces, as they were before our first up (each only while it still has our value). */
function restoreIpv6HostChanges(ctx: Context, had: HostChanges, keepForwarding: boolean): string[] {
  const actions: string[] = [];
  const put = (key: string, ours: string, was: string, why: string) => {
    if (readSysctl(key) !== ours) return;
    if (!ctx.dryRun) writeSysctl(key, was);
    actions.push(`${why}: ${sysctlName(key)}=${was}`);
  };
  // forwarding first: accept_ra=1 on an interface is only honoured again once forwarding is off
  if (had.enabledForwarding6 && !keepForwarding) put(FORWARDING6_KEY, '1', '0', 'restore IPv6 forwarding (it was off before up)');
  for (const f of had.acceptRaFixed ?? []) put(ipv6ConfKey(f.iface, 'accept_ra'), '2', f.was, `restore accept_ra of ${f.iface}`);
  return actions;
}

/** iptables-nft tables/chains removed (by us, or by someone else) are no longer ours to remove. */
async function forgetReleasedNftTables(ctx: Context): Promise<void> {
  const had = readHostChanges(ctx);
  if (!had) return;
  const now = await observeIpChains(ctx.runner);
  const kept = {
    ...had,
    iptablesTablesCreated: had.iptablesTablesCreated.filter((t) => now.tables.has(t)),
    iptablesChainsCreated: had.iptablesChainsCreated.filter((c) => now.chains.has(c)),
    ...(had.ip6tablesCreated ? { ip6tablesCreated: stillThere(had.ip6tablesCreated, await observeIpChains(ctx.runner, 'ip6')) } : {}),
  };
  if (JSON.stringify(kept) !== JSON.stringify(had)) writeHostChanges(ctx, kept);
}

/** The ip6tables-nft tables/chains of a claim that still exist. */
function stillThere(c: NonNullable<HostChanges['ip6tablesCreated']>, now: { tables: Set<string>; chains: Set<string> }) {
  return { tables: c.tables.filter((t) => now.tables.has(t)), chains: c.chains.filter((x) => now.chains.has(x)) };
}

/** Runs a teardown's steps; returns what was done, then what was left and why. */
async function runTeardown(ctx: Context, steps: Step[], left: string[]): Promise<string[]> {
  const actions: string[] = [];
  for (const step of steps) {
    await executeStep(ctx, step);
    if (step.kind !== 'remove-file') actions.push(describeStep(step));
  }
  return [...actions, ...left];
}

/**
 * Removes what a record says was applied. `everyBackend`: the record came from evidence (the
 * real one was bad), so our rules are looked for in every backend.
 */
export async function teardownRecord(ctx: Context, host: HostObserver, rec: AppliedRecord, everyBackend = false): Promise<string[]> {
  const paths = dnsmasqPaths(ctx, rec.network);
  const t = planTeardown(rec, paths, await host.teardown(rec, paths, everyBackend));
  const actions = await runTeardown(ctx, t.steps, t.left);
  host.invalidate();
  removeRecord(ctx, rec.network.name);
  return actions;
}

/**
 * `down` of a network whose applied record was bad (set aside as <network>.json.bad). Ours,
 * and removed: what derives from the network name (our dnsmasq by its --conf-file, the layout's
 * dnsmasq files) and, when the config still has the network, from its config (our chains and
 * nft table, and the bridge/dummy only if they are our kind with our pinned MAC).
 */
export async function teardownFromEvidence(ctx: Context, host: HostObserver, name: string, net: Network | null): Promise<string[]> {
  const badFile = quarantineFile(appliedFile(ctx, name));
  const note = `its applied record was bad and is kept as ${badFile} (inspect it, then remove it)`;
  if (net) return [...(await teardownRecord(ctx, host, recordFromEvidence(net, 'nftables', null), true)), `checked the host for what up could have made: ${note}`];
  const paths = dnsmasqPaths(ctx, { name });
  const stops = scanOurDnsmasq(paths.conf).map((pid): Step => ({ kind: 'dnsmasq-stop', why: `stop dnsmasq of ${name}`, pid, conf: paths.conf }));
  return runTeardown(ctx, [...stops, ...planFileRemoval(paths)], [
    `left any bridge, dummy and firewall rules of ${name}: the config no longer names its bridge, and ${note}`,
  ]);
}

/**
 * Puts back host-wide changes (host-changes.json): iptables-nft tables/chains `up` created,
 * once empty; and, when no network of ours is left, ip_forward. Whichever network made them.
 */
export async function releaseHostChanges(ctx: Context, host: HostObserver, noneLeft: boolean): Promise<string[]> {
  const had = readHostChanges(ctx);
  if (!had) return [];
  const actions: string[] = [];
  let kept = had;
  if ((had.iptablesTablesCreated.length || had.iptablesChainsCreated.length) && availableIptablesVariants().includes('nft')) {
    const [dump, existing] = await Promise.all([host.iptables('nft'), observeIpChains(ctx.runner)]);
    const steps = planIptablesNftLeftovers(had, dump, existing);
    actions.push(...(await runTeardown(ctx, steps, [])));
    host.invalidate();
    // what is gone (removed now, or by someone else) is no longer ours to remove
    const now = steps.length && !ctx.dryRun ? await observeIpChains(ctx.runner) : existing;
    kept = {
      ...kept,
      iptablesTablesCreated: had.iptablesTablesCreated.filter((t) => now.tables.has(t)),
      iptablesChainsCreated: had.iptablesChainsCreated.filter((c) => now.chains.has(c)),
    };
  }
  const six = had.ip6tablesCreated;
  if (six && (six.tables.length || six.chains.length) && availableIptablesVariants().includes('nft')) {
    const [dump6, existing6] = await Promise.all([host.ip6tables('nft'), observeIpChains(ctx.runner, 'ip6')]);
    const steps = dump6 ? planIptablesNftLeftovers({ iptablesTablesCreated: six.tables, iptablesChainsCreated: six.chains }, dump6, existing6, 'ip6') : [];
    actions.push(...(await runTeardown(ctx, steps, [])));
    host.invalidate();
    const now6 = steps.length && !ctx.dryRun ? await observeIpChains(ctx.runner, 'ip6') : existing6;
    kept = { ...kept, ip6tablesCreated: stillThere(six, now6) };
  }
  if (noneLeft) {
    // Docker, started after our up, found forwarding on and relies on it: turning it off would cut its containers
    const keepForwarding = (had.enabledForwarding || !!had.enabledForwarding6) && dockerFirewallFound(await host.docker(FAMILIES, true));
    if (keepForwarding) actions.push("left forwarding on although it was off before up: Docker's firewall is on this host and relies on it");
    if (had.enabledForwarding && readIpForward() && !ctx.dryRun && !keepForwarding) {
      writeSysctl(FORWARDING4_KEY, '0');
      actions.push('restore net.ipv4.ip_forward=0 (it was 0 before up)');
    }
    actions.push(...restoreIpv6HostChanges(ctx, had, keepForwarding));
    removeHostChanges(ctx);
  } else if (JSON.stringify(kept) !== JSON.stringify(had)) writeHostChanges(ctx, kept);
  return actions;
}
