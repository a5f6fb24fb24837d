// Live change benchmark (issue 8): replies lost by a guest pinging the upstream peer every 20 ms
// through NAT while `up` switches the firewall backend (iptables <-> nftables) under it. The guest
// is a veth port of the bridge in its own namespace, known to `up` as a running VM's tap.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, median, sleep } from './lib.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'bin', 'natnet-hook');
const SWITCHES = Number(process.env.BENCH_SWITCHES ?? 6);
const MAC = '52:54:00:aa:bb:01';

const topology = await import(join(REPO, 'dist', 'selftest', 'topology.js'));
const probes = await import(join(REPO, 'dist', 'selftest', 'probes.js'));
const { writeUdhcpcScript } = await import(join(REPO, 'dist', 'selftest', 'udhcpc-script.js'));
const { domainFile, layoutOf } = await import(join(REPO, 'dist', 'state', 'layout.js'));

const inNs = (ns, argv) => ['ip', 'netns', 'exec', ns, ...argv];
const config = (firewall) =>
  `[[network]]\nname = "natnet"\nfirewall = "${firewall}"\n[[lease]]\nvm = "web"\nip = "192.168.100.10"\nmac = "${MAC}"\n`;

async function must(argv) {
  const r = await exec(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: exit ${r.code}: ${r.stderr.trim().split('\n').pop()}`);
  return r.stdout;
}

/** busybox ping every 20 ms; the seqs answered. Stopped by pid. */
function startPing(ns, ip) {
  const seqs = new Set();
  const child = spawn('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-i', '0.02', ip], { stdio: ['ignore', 'pipe', 'ignore'] });
  let rest = '';
  child.stdout.on('data', (b) => {
    const lines = (rest + b).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      const m = / seq=(\d+) /.exec(l);
      if (m) seqs.add(Number(m[1]));
    }
  });
  const highest = () => Math.max(-1, ...seqs);
  return {
    highest,
    missing: (from, to) => {
      let n = 0;
      for (let s = from + 1; s <= to; s++) if (!seqs.has(s)) n++;
      return n;
    },
    async answeredAfter(seq, ms = 5000) {
      const end = Date.now() + ms;
      while (highest() <= seq && Date.now() < end) await sleep(10);
      return highest();
    },
    stop: () => new Promise((res) => {
      if (child.exitCode !== null) return res();
      child.on('close', res);
      child.kill('SIGTERM');
    }),
  };
}

async function firewallSwitchLoss() {
  const name = `replies lost by a guest pinging every 20 ms during a firewall backend switch (worst of ${SWITCHES})`;
  const router = topology.labId('nnb-live');
  const upstream = `${router}-u`;
  const guestNs = `${router}-g`;
  const dir = mkdtempSync(join(tmpdir(), 'natnet-bench-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'etc'));
  mkdirSync(join(dir, 'guests'));
  const cfg = join(dir, 'etc', 'config.toml');
  const state = join(dir, 'state');
  const cli = (args) => inNs(router, [process.execPath, BIN, '--config', cfg, '--state-dir', state, ...args]);
  let ping = null;
  try {
    await topology.createNamespace(exec, router);
    await topology.createNamespace(exec, upstream);
    await topology.linkUpstream(exec, router, upstream, '192.168.100.0/24');
    writeFileSync(cfg, config('iptables'));
    await must(cli(['up']));
    await topology.attachGuest(exec, { router, ns: guestNs, port: 'vnet1', mac: MAC, bridge: 'virbr10' });
    const record = domainFile(layoutOf({ config: cfg, stateDir: state }), 'web');
    mkdirSync(dirname(record), { recursive: true, mode: 0o755 });
    writeFileSync(record, `${JSON.stringify({ vm: 'web', nics: [{ mac: MAC, bridge: 'virbr10', tap: 'vnet1' }], metadataLeases: [], running: true, updated: new Date().toISOString() })}\n`);
    const guest = { ns: guestNs, name: 'g1', dir: join(dir, 'guests'), script: writeUdhcpcScript(dir) };
    const { ip } = await probes.dhcpOnce(exec, guest);
    if (!ip) throw new Error('the guest got no DHCP lease');
    ping = startPing(guestNs, topology.UPSTREAM.peerIp);
    if ((await ping.answeredAfter(5)) <= 5) throw new Error('the guest does not reach the upstream peer');
    const lost = [];
    for (let i = 0; i < SWITCHES; i++) {
      writeFileSync(cfg, config(i % 2 === 0 ? 'nftables' : 'iptables'));
      const before = ping.highest();
      await must(cli(['up']));
      await sleep(300);
      const after = await ping.answeredAfter(ping.highest() + 5);
      if (after <= before + 5) throw new Error('no replies after the switch');
      lost.push(ping.missing(before, after));
    }
    const worst = Math.max(...lost);
    return { name, value: `${worst} (median ${median(lost)})`, unit: 'replies', goal: '≤ 2', ok: worst <= 2 };
  } finally {
    await ping?.stop();
    for (const ns of [guestNs, upstream, router]) await topology.destroyNamespace(exec, ns);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench() {
  if (process.getuid?.() !== 0) return [{ name: 'live change benchmarks', skipped: 'need root (network namespaces)' }];
  await topology.sweepOrphans(exec, 'nnb-live');
  try {
    return [await firewallSwitchLoss()];
  } catch (e) {
    return [{ name: 'firewall switch under a pinging guest', error: e.message }];
  }
}
