/**
 * natnet-hook selftest: the engine builds the default network inside a throw-away router
 * namespace; two simulated VMs (veth + udhcpc) and an upstream peer check the data path.
 * Everything happens in namespaces created here and removed afterwards.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labIpv6, SELFTEST, type FirewallChoice, type SelftestIpv6, selftestConfig, vm1LeaseFile } from './config.js';
import { writeDhclient6Files } from './dhclient6.js';
import { type Exec, inNs } from './exec.js';
import { boundToBridge, dhcpOnce, type DhcpGuest, listeningSockets, resolveName, roundTrip } from './probes.js';
import { type CheckResult, formatTable } from './table.js';
import { ipv6Checks, ipv6Tools } from './run6.js';
import { attachGuest, createNamespace, destroyNamespace, labId, linkUpstream, linkUpstream6, sweepOrphans, UPSTREAM } from './topology.js';
import { SELFTEST_TOOLS, missingTools } from './tools.js';
import { writeUdhcpcScript } from './udhcpc-script.js';

export interface SelftestOptions {
  /** Path of bin/natnet-hook, run with the current node inside the router namespace. */
  bin: string;
  nodePath: string;
  firewall?: FirewallChoice;
  /** Give the network an IPv6 side like this (the config's networks decide: selftestIpv6Of); none = IPv4 only. */
  ipv6?: SelftestIpv6 | null;
  /** Where the table goes (default: stdout). */
  out?: (text: string) => void;
}

interface Lab {
  id: string;
  router: string;
  upstream: string;
  dir: string;
  configPath: string;
  stateDir: string;
  guests: DhcpGuest[];
}

export async function selftest(exec: Exec, opts: SelftestOptions): Promise<CheckResult[]> {
  const lab = makeLab();
  const results: CheckResult[] = [];
  const cleanup = () => teardown(exec, lab);
  // After a signal the checks may still be mid-way: they get no new process (which could
  // create a namespace behind the teardown's back) while the teardown runs with the real exec.
  let interrupted = false;
  const guarded: Exec = (argv, o) =>
    interrupted ? Promise.resolve({ code: 130, stdout: '', stderr: 'interrupted' }) : exec(argv, o);
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await runChecks(guarded, lab, opts, results);
  } catch (e) {
    results.push({ name: 'lab set-up', ok: false, detail: (e as Error).message });
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const v6 = opts.ipv6 ? `, IPv6 ${opts.ipv6.mode} ${opts.ipv6.dhcpv6}` : '';
  const title = `natnet-hook selftest (namespaces ${lab.id}-*, firewall ${opts.firewall ?? 'from the default config'}${v6})`;
  (opts.out ?? ((t) => process.stdout.write(t)))(formatTable(title, results));
  return results;
}

function makeLab(): Lab {
  const id = labId('nnst');
  const dir = mkdtempSync(join(tmpdir(), 'natnet-selftest-'));
  // dnsmasq drops to nobody and must still reach the hostsfile under the state dir.
  chmodSync(dir, 0o755);
  const guests = [SELFTEST.vm1, SELFTEST.vm2].map((vm, i) => ({
    ns: `${id}-g${i + 1}`,
    name: vm.name,
    dir: join(dir, 'guests'),
    script: '',
  }));
  return {
    id,
    router: `${id}-r`,
    upstream: `${id}-u`,
    dir,
    configPath: join(dir, 'etc', 'config.toml'),
    stateDir: join(dir, 'state'),
    guests,
  };
}

async function runChecks(exec: Exec, lab: Lab, opts: SelftestOptions, results: CheckResult[]): Promise<void> {
  const check = (name: string, ok: boolean, detail: string) => results.push({ name, ok, detail });
  const v6 = opts.ipv6 ?? null;
  const missing = missingTools([...SELFTEST_TOOLS, ...(v6 ? ipv6Tools(v6) : [])]);
  if (missing.length) {
    check('required tools', false, `not found: ${missing.join(', ')} (packages: iproute2 dnsmasq-base udhcpc socat busybox${v6 ? ' procps isc-dhcp-client' : ''})`);
    return;
  }
  mkdirSync(join(lab.dir, 'etc', 'leases.d'), { recursive: true });
  mkdirSync(join(lab.dir, 'guests'), { recursive: true });
  writeFileSync(lab.configPath, selftestConfig(opts.firewall, v6));
  writeFileSync(join(lab.dir, 'etc', 'leases.d', 'vm1.toml'), vm1LeaseFile(v6));
  const script = writeUdhcpcScript(lab.dir);
  for (const g of lab.guests) g.script = script;

  await sweepOrphans(exec, 'nnst');
  await createNamespace(exec, lab.router);
  await createNamespace(exec, lab.upstream);
  await linkUpstream(exec, lab.router, lab.upstream, SELFTEST.subnet);
  if (v6) await linkUpstream6(exec, lab.router, lab.upstream, labIpv6(v6).cidr);

  const engine = (...command: string[]) =>
    exec(inNs(lab.router, [opts.nodePath, opts.bin, '--config', lab.configPath, '--state-dir', lab.stateDir, ...command]));
  const up = await engine('up');
  check('natnet-hook up (in the router namespace)', up.code === 0, up.code === 0 ? 'exit 0' : `exit ${up.code}: ${lastLine(up.stderr)}`);
  if (up.code !== 0) return;

  const [g1, g2] = lab.guests;
  const ipv6 = v6 !== null;
  await attachGuest(exec, { router: lab.router, ns: g1.ns, port: SELFTEST.vm1.port, mac: SELFTEST.vm1.mac, bridge: SELFTEST.bridge, ipv6 });
  await attachGuest(exec, { router: lab.router, ns: g2.ns, port: SELFTEST.vm2.port, mac: SELFTEST.vm2.mac, bridge: SELFTEST.bridge, ipv6 });

  const d1 = await dhcpOnce(exec, g1);
  check(`reserved lease: vm1 gets ${SELFTEST.vm1.ip}`, d1.ip === SELFTEST.vm1.ip, d1.ip ? `got ${d1.ip}` : `no lease: ${lastLine(d1.output)}`);
  const d2 = await dhcpOnce(exec, g2, { hostname: SELFTEST.vm2.name });
  check('pool lease: vm2 gets an address from the pool', inPool(d2.ip), d2.ip ? `got ${d2.ip}` : `no lease: ${lastLine(d2.output)}`);
  if (!d1.ip || !d2.ip) return;

  for (const proto of ['tcp', 'udp'] as const) {
    const rt = await roundTrip(exec, { serverNs: lab.upstream, clientNs: g1.ns, ip: UPSTREAM.peerIp, port: 8080, proto });
    check(
      `NAT ${proto}: upstream peer sees ${UPSTREAM.routerIp}`,
      rt.peerSaw === UPSTREAM.routerIp,
      rt.peerSaw ? `peer saw ${rt.peerSaw}` : `peer saw nothing ${rt.clientError}`,
    );
  }

  const vmvm = await roundTrip(exec, { serverNs: g2.ns, clientNs: g1.ns, ip: d2.ip, port: 9000, proto: 'tcp' });
  check('VM to VM: vm2 sees vm1 un-NATed', vmvm.peerSaw === d1.ip, vmvm.peerSaw ? `vm2 saw ${vmvm.peerSaw}` : `vm2 saw nothing ${vmvm.clientError}`);

  const inbound = await roundTrip(exec, { serverNs: g1.ns, clientNs: lab.upstream, ip: d1.ip, port: 9000, proto: 'tcp' });
  const rejected = !inbound.connected && inbound.peerSaw === null && /refused/i.test(inbound.clientError);
  check(
    'inbound from upstream to vm1 is rejected',
    rejected,
    inbound.connected ? `connected, vm1 saw ${inbound.peerSaw}` : inbound.clientError || 'no answer',
  );

  await portForwardChecks(exec, check, engine, { vm1: g1.ns, vm2: g2.ns, upstream: lab.upstream });

  const fqdn = `${SELFTEST.vm1.name}.${SELFTEST.domain}`;
  const answers = await resolveName(exec, g2.ns, fqdn, SELFTEST.gateway);
  check(`DNS: ${fqdn} resolves to ${SELFTEST.vm1.ip}`, answers.includes(SELFTEST.vm1.ip), answers.length ? `answers ${answers.join(', ')}` : 'no answer');

  if (v6) {
    const dhclient = v6.dhcpv6 === 'stateful' ? writeDhclient6Files(join(lab.dir, 'guests')) : null;
    await ipv6Checks(exec, check, { router: lab.router, upstream: lab.upstream, vm1: g1.ns, vm2: g2.ns, dir: join(lab.dir, 'guests'), dhclient }, v6);
  }

  const sockets = await listeningSockets(exec, lab.router);
  const outside = sockets.filter((s) => !boundToBridge(s, SELFTEST.bridge, [SELFTEST.gateway, ...(v6 ? [labIpv6(v6).gateway] : [])]));
  check(
    'nothing listens outside the bridge',
    sockets.length > 0 && outside.length === 0,
    outside.length
      ? `also on ${outside.map((s) => `${s.proto} ${s.local} (${s.process})`).join(', ')}`
      : `${sockets.length} sockets, all on ${SELFTEST.bridge}`,
  );
  const status = await engine('status');
  check('natnet-hook status reports healthy', status.code === 0, status.code === 0 ? 'exit 0' : `exit ${status.code}: ${problemLine(status.stdout + status.stderr)}`);
}

/**
 * `forward add` live, then the upstream peer reaches vm1 through the router's uplink address
 * (and vm1 sees the peer's own address), and vm2 reaches it the same way (hairpin).
 */
async function portForwardChecks(
  exec: Exec,
  check: (name: string, ok: boolean, detail: string) => void,
  engine: (...command: string[]) => ReturnType<Exec>,
  ns: { vm1: string; vm2: string; upstream: string },
): Promise<void> {
  const { hostPort, vmPort } = SELFTEST.forward;
  const add = await engine('forward', 'add', SELFTEST.vm1.name, String(hostPort), '--to', String(vmPort));
  const name = `port forward: ${UPSTREAM.routerIp}:${hostPort} reaches vm1:${vmPort}, vm1 sees the peer`;
  if (add.code !== 0) {
    check(name, false, `forward add: exit ${add.code}: ${lastLine(add.stderr)}`);
    return;
  }
  const trip = (clientNs: string) => roundTrip(exec, { serverNs: ns.vm1, clientNs, ip: UPSTREAM.routerIp, port: hostPort, listenPort: vmPort, proto: 'tcp' });
  const inbound = await trip(ns.upstream);
  check(name, inbound.peerSaw === UPSTREAM.peerIp, inbound.peerSaw ? `vm1 saw ${inbound.peerSaw}` : `vm1 saw nothing ${inbound.clientError}`);
  const hairpin = await trip(ns.vm2);
  check(
    `port forward hairpin: vm2 reaches vm1 through ${UPSTREAM.routerIp}:${hostPort}`,
    hairpin.connected && hairpin.peerSaw === SELFTEST.gateway,
    hairpin.peerSaw ? `vm1 saw ${hairpin.peerSaw}` : `vm1 saw nothing ${hairpin.clientError}`,
  );
}

function problemLine(s: string): string {
  return s.split('\n').find((l) => /FAIL|missing|problem/i.test(l))?.trim() ?? lastLine(s);
}

function inPool(ip: string | null): boolean {
  if (!ip?.startsWith('192.168.100.')) return false;
  const last = Number(ip.split('.')[3]);
  return last >= SELFTEST.poolStart && last <= SELFTEST.poolEnd;
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

async function teardown(exec: Exec, lab: Lab): Promise<void> {
  for (const ns of [...lab.guests.map((g) => g.ns), lab.upstream, lab.router]) await destroyNamespace(exec, ns);
  rmSync(lab.dir, { recursive: true, force: true });
}
