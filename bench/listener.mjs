// Listener benchmarks (issue 4), against real NetworkManager + firewalld on a private bus in a
// namespace made here (shared recipe nm-firewalld-private-bus.sh), the listener and the engine
// running inside it. Baselines are measured in the same run: a cold `natnet-hook up` doing the
// same repair (what you would get without a listener, e.g. from a dispatcher script).
//   - firewalld `Reloaded` (seen by our own bus connection) -> our rules back   goal <= 100 ms
//   - `ip link del virbr10` -> bridge back with its address                     goal <= 500 ms
//   - listener RSS after 1,000 signals (and growth over the next 1,000)         goal <= 80 MB, flat
// Rules/bridge presence is polled with iptables-save / ip every few ms: resolution ~5-10 ms.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exec, median, round, sleep } from './lib.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'bin', 'natnet-hook');
const RECIPE = resolve(REPO, '..', 'shared', 'reference', 'recipes', 'nm-firewalld-private-bus.sh');
const RUNS = Number(process.env.BENCH_LISTENER_RUNS ?? 7);
const SIGNALS = 1000;
const BRIDGE = 'virbr10';
const BINS = ['ip', 'busctl', 'dbus-daemon', 'NetworkManager', 'firewalld', 'firewall-cmd', 'iptables-nft-save', 'dnsmasq', 'bash'];

const hasBin = (b) => (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']).some((d) => existsSync(join(d, b)));

const run = (argv, env = {}) => exec(argv, { env });

async function must(argv, env) {
  const r = await run(argv, env);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-8).join(' / ')}`);
  return r.stdout;
}

async function waitFor(check, timeoutMs, intervalMs = 5) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (performance.now() > deadline) return null;
    await sleep(intervalMs);
  }
}

/** Until cli.ts wires `listen`, the same command module through a tiny ESM entry. */
const ENTRY = `
const [config, stateDir] = process.argv.slice(1);
const { makeContext } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/engine/context.js')).href)});
const { runListen } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/commands/listen.js')).href)});
try { await runListen(makeContext({ config, stateDir }), {}); }
catch (e) { process.stderr.write('natnet-hook: ' + e.message + '\\n'); process.exitCode = e.exitCode ?? 1; }
`;

function cliHasListen() {
  const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  return /^\s+listen\b/m.test(r.stdout ?? '');
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function makeLab() {
  const dir = mkdtempSync(join(tmpdir(), 'natnet-bench-listen-'));
  chmodSync(dir, 0o755); // dnsmasq drops to nobody and must reach its files
  mkdirSync(join(dir, 'etc'), { recursive: true });
  const ns = `nnb-listen-${process.pid}-${Math.random().toString(16).slice(2, 6)}`;
  const recipeEnv = { LAB: join(dir, 'bus'), NS: ns };
  const address = `unix:path=${join(dir, 'bus', 'bus')}`;
  const config = join(dir, 'etc', 'config.toml');
  const state = join(dir, 'state');
  const inNs = (argv) => ['ip', 'netns', 'exec', ns, ...argv];
  return {
    dir,
    ns,
    address,
    config,
    state,
    runDir: join(state, 'run'),
    inNs,
    recipe: (what) => must(['bash', RECIPE, what], recipeEnv),
    cli: (args) => inNs([process.execPath, BIN, '--config', config, '--state-dir', state, ...args]),
    rulesPresent: async () => {
      const r = await run(inNs(['iptables-nft-save', '-t', 'nat']));
      return r.stdout.includes(`-j NATNET-POST-${BRIDGE}`) && r.stdout.includes(`-A NATNET-POST-${BRIDGE} `);
    },
    bridgeBack: async () => {
      const r = await run(inNs(['ip', '-j', 'addr', 'show', 'dev', BRIDGE]));
      return r.code === 0 && r.stdout.includes('"192.168.100.1"');
    },
  };
}

function listenerStatus(lab) {
  try {
    return JSON.parse(readFileSync(join(lab.runDir, 'listener.json'), 'utf8'));
  } catch {
    return null;
  }
}

async function startListener(lab) {
  const argv = cliHasListen()
    ? lab.cli(['listen'])
    : lab.inNs([process.execPath, '--input-type=module', '-e', ENTRY, lab.config, lab.state]);
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: lab.address }, stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  const ok = await waitFor(() => {
    const st = listenerStatus(lab);
    return st?.pid === child.pid && st.bus.connected && st.repairs > 0;
  }, 30_000, 50);
  if (ok === null) throw new Error('listener did not start');
  return { pid: child.pid, exited };
}

/** Waits until the listener's repair count stops moving (no repair for quietMs). */
async function listenerSettled(lab, quietMs = 400) {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const n = listenerStatus(lab)?.repairs ?? 0;
    if (n !== last) {
      last = n;
      since = performance.now();
    } else if (performance.now() - since > quietMs) return;
    await sleep(50);
  }
}

export async function bench() {
  if (process.getuid?.() !== 0) return [{ name: 'listener benchmarks', skipped: 'needs root (namespaces, NetworkManager, firewalld)' }];
  const missing = BINS.filter((b) => !hasBin(b));
  if (missing.length) return [{ name: 'listener benchmarks', skipped: `needs ${missing.join(', ')}` }];
  if (!existsSync(RECIPE)) return [{ name: 'listener benchmarks', skipped: `recipe ${RECIPE} missing` }];

  const dbus = createRequire(import.meta.url)('dbus-next');
  const lab = makeLab();
  let listener = null;
  let bus = null;
  try {
    await lab.recipe('up');
    writeFileSync(lab.config, '[[network]]\nname = "natnet"\nbridge = "virbr10"\nfirewall = "iptables"\nstp = false\n\n[listener]\ninterval = 0\n');
    await must(lab.cli(['up']));

    // baselines: the same repairs by a cold CLI run, no listener
    const baseReload = [];
    const baseBridge = [];
    for (let i = 0; i < 3; i++) {
      await must(['firewall-cmd', '--reload'], { DBUS_SYSTEM_BUS_ADDRESS: lab.address });
      let t0 = performance.now();
      await must(lab.cli(['up']));
      baseReload.push(performance.now() - t0);
      await must(lab.inNs(['ip', 'link', 'del', BRIDGE]));
      t0 = performance.now();
      await must(lab.cli(['up']));
      baseBridge.push(performance.now() - t0);
    }

    listener = await startListener(lab);
    bus = dbus.sessionBus({ busAddress: lab.address });
    bus.on('error', () => {});
    await new Promise((r) => bus.once('connect', r));
    let reloadedAt = null;
    bus.on('message', (m) => {
      if (m.interface === 'org.fedoraproject.FirewallD1' && m.member === 'Reloaded') reloadedAt = performance.now();
    });
    await bus.call(
      new dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'AddMatch',
        signature: 's',
        body: ["type='signal',interface='org.fedoraproject.FirewallD1',member='Reloaded'"],
      }),
    );

    const reload = [];
    for (let i = 0; i < RUNS; i++) {
      reloadedAt = null;
      const cmd = run(['firewall-cmd', '--reload'], { DBUS_SYSTEM_BUS_ADDRESS: lab.address });
      if ((await waitFor(() => reloadedAt !== null, 30_000, 1)) === null) throw new Error('no Reloaded signal seen');
      const back = await waitFor(() => lab.rulesPresent(), 10_000, 2);
      if (back === null) throw new Error('rules did not come back after a reload');
      reload.push(back - reloadedAt);
      await cmd;
      await listenerSettled(lab);
    }

    const bridge = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await must(lab.inNs(['ip', 'link', 'del', BRIDGE]));
      const back = await waitFor(() => lab.bridgeBack(), 10_000, 2);
      if (back === null) throw new Error('bridge did not come back');
      bridge.push(back - t0);
      await listenerSettled(lab);
    }

    // memory: directed StateChanged signals (the full path: classify, coalesce, repair, status)
    const target = listenerStatus(lab).bus.uniqueName;
    const blast = async () => {
      for (let i = 0; i < SIGNALS; i++) {
        const sig = dbus.Message.newSignal('/org/freedesktop/NetworkManager', 'org.freedesktop.NetworkManager', 'StateChanged', 'u', [70]);
        sig.destination = target;
        bus.send(sig);
        if (i % 100 === 99) await sleep(5);
      }
      await sleep(300);
      await listenerSettled(lab);
    };
    const rssStart = rssMb(listener.pid);
    await blast();
    const rss1k = rssMb(listener.pid);
    await blast();
    const rss2k = rssMb(listener.pid);

    const mr = median(reload);
    const mbr = median(baseReload);
    const mb = median(bridge);
    const mbb = median(baseBridge);
    return [
      { name: `listener: firewalld Reloaded → our rules back (median of ${RUNS}; baseline cold \`up\`)`, value: round(mr), unit: 'ms', baseline: round(mbr), ratio: round(mr / mbr, 2), goal: '≤ 100 ms', ok: mr <= 100 },
      { name: `listener: ip link del → bridge back (median of ${RUNS}; baseline cold \`up\`)`, value: round(mb), unit: 'ms', baseline: round(mbb), ratio: round(mb / mbb, 2), goal: '≤ 500 ms', ok: mb <= 500 },
      { name: `listener: RSS after ${SIGNALS} signals (baseline: at start)`, value: round(rss1k), unit: 'MB', baseline: round(rssStart), ratio: round(rss1k / rssStart, 2), goal: '≤ 80 MB', ok: rss1k <= 80 },
      { name: `listener: RSS growth over the next ${SIGNALS} signals`, value: round(rss2k - rss1k), unit: 'MB', goal: 'flat (< 5 MB)', ok: rss2k - rss1k < 5 },
    ];
  } finally {
    try {
      bus?.disconnect();
    } catch {
      // already gone
    }
    if (listener) {
      try {
        process.kill(listener.pid, 'SIGTERM');
      } catch {
        // gone
      }
      await Promise.race([listener.exited, sleep(10_000)]);
    }
    await run(lab.cli(['down']));
    await run(['bash', RECIPE, 'down'], { LAB: join(lab.dir, 'bus'), NS: lab.ns });
    rmSync(lab.dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const row of await bench()) process.stdout.write(`${JSON.stringify(row)}\n`);
}
