// Engine benchmarks (issue 2): every measurement runs the built CLI inside network
// namespaces created here, against a baseline measured in the same run.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, median, ratioRow, round } from './lib.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'bin', 'natnet-hook');
const RECIPE = resolve(REPO, '..', 'shared', 'reference', 'recipes', 'dataplane-netns.sh');
const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const SLOW_RUNS = Number(process.env.BENCH_SLOW_RUNS ?? 5);

const topology = await import(join(REPO, 'dist', 'selftest', 'topology.js'));

/**
 * Wall time of one synchronous run in ms; throws when it fails. The environment is PATH only:
 * variables such as NODE_EXTRA_CA_CERTS add ~30 ms to every node start and would flatter ratios.
 */
function timed(argv, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  return ms;
}

const inNs = (ns, argv) => ['ip', 'netns', 'exec', ns, ...argv];

/** A throw-away namespace plus a config/state dir; always removed by cleanup(). */
async function makeLab(tag) {
  const ns = topology.labId(`nnb-${tag}`);
  const dir = mkdtempSync(join(tmpdir(), 'natnet-bench-'));
  chmodSync(dir, 0o755); // dnsmasq drops to nobody and must reach its hostsfile
  mkdirSync(join(dir, 'etc'), { recursive: true });
  const lab = {
    ns,
    dir,
    config: join(dir, 'etc', 'config.toml'),
    state: join(dir, 'state'),
    cli: (args) => inNs(ns, [process.execPath, BIN, '--config', lab.config, '--state-dir', lab.state, ...args]),
    cleanup: async () => {
      await topology.destroyNamespace(exec, ns);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await topology.createNamespace(exec, ns);
  writeFileSync(lab.config, '');
  return lab;
}

async function withLab(tag, fn) {
  const lab = await makeLab(tag);
  try {
    return await fn(lab);
  } finally {
    await lab.cleanup();
  }
}

/** `up` with nothing to change vs `node -e 0`, both through `ip netns exec` whose own cost is subtracted. */
async function idleUp() {
  return withLab('idle', async (lab) => {
    timed(lab.cli(['up']));
    const up = [];
    const node = [];
    const overhead = [];
    for (let i = 0; i < RUNS; i++) {
      overhead.push(timed(inNs(lab.ns, ['true'])));
      node.push(timed(inNs(lab.ns, [process.execPath, '-e', '0'])));
      up.push(timed(lab.cli(['up'])));
    }
    const o = median(overhead);
    const value = median(up) - o;
    const baseline = median(node) - o;
    return ratioRow('`up`, nothing to change (vs `node -e 0`)', value, baseline, 1.6);
  });
}

/**
 * From nothing to dnsmasq serving, two ways:
 *  - "as written": `bash dataplane-netns.sh up` exactly (it creates its namespaces cr/cwan and the
 *    uplink, then runs each router command through `ip netns exec cr`) vs the same namespace set-up
 *    done here plus one `ip netns exec R natnet-hook up`;
 *  - "same footing": the recipe with RX= (router commands run directly) inside one `ip netns exec`
 *    of a fresh namespace, like the engine.
 */
async function coldUp() {
  const title = '`up` from nothing to dnsmasq serving (vs bash recipe';
  if (!existsSync(RECIPE)) {
    return [{ name: `${title})`, skipped: `recipe not found at ${RECIPE}` }];
  }
  const engine = [];
  const engineWithNs = [];
  const bashDirect = [];
  const bashAsWritten = [];
  const ownsRecipeNames = !(await namespaceExists('cr')) && !(await namespaceExists('cwan'));
  for (let i = 0; i < SLOW_RUNS; i++) {
    await withLab('cold', async (lab) => {
      await topology.destroyNamespace(exec, lab.ns);
      const t0 = process.hrtime.bigint();
      await topology.createNamespace(exec, lab.ns);
      const up = lab.ns.replace('nnb-', 'nnc-');
      await topology.createNamespace(exec, up);
      try {
        await topology.linkUpstream(exec, lab.ns, up, '192.168.100.0/24');
        const setup = Number(process.hrtime.bigint() - t0) / 1e6;
        const ms = timed(lab.cli(['up']));
        await assertServing(lab.ns);
        engine.push(ms);
        engineWithNs.push(setup + ms);
      } finally {
        await topology.destroyNamespace(exec, up);
      }
    });
    // RX= makes the recipe run its router commands directly: here, inside our own namespace.
    bashDirect.push(
      await withLab('bash', async (lab) => {
        const ms = timed(inNs(lab.ns, ['bash', RECIPE, 'up']), { RX: '', STP: '0', FD: '0' });
        await assertServing(lab.ns);
        return ms;
      }),
    );
    if (ownsRecipeNames) {
      try {
        bashAsWritten.push(timed(['bash', RECIPE, 'up'], { STP: '0', FD: '0' }));
        await assertServing('cr');
      } finally {
        await topology.destroyNamespace(exec, 'cr');
        await topology.destroyNamespace(exec, 'cwan');
      }
    }
  }
  const row = (name, value, baseline) => ratioRow(name, value, baseline, 1.3);
  return [
    ownsRecipeNames
      ? row(`${title} as written)`, median(engineWithNs), median(bashAsWritten))
      : { name: `${title} as written)`, skipped: 'namespaces cr/cwan exist (someone runs the recipe): not touching them' },
    row(`${title}, same footing)`, median(engine), median(bashDirect)),
  ];
}

async function namespaceExists(name) {
  const r = await exec(['ip', 'netns', 'list']);
  return r.stdout.split('\n').some((l) => l.split(' ')[0] === name);
}

async function assertServing(ns) {
  const r = await exec(inNs(ns, ['ss', '-Hlun', 'sport = :67']));
  if (!r.stdout.trim()) throw new Error(`dnsmasq is not serving DHCP in ${ns}`);
}

/** `lease add` with 10,000 reservations already in leases.d/ and dnsmasq running (live apply included). */
async function leaseAdd10k() {
  return withLab('lease', async (lab) => {
    writeFileSync(
      lab.config,
      [
        '[[network]]',
        'name = "big"',
        'bridge = "virbr10"',
        'address = "10.64.0.1/16"',
        'dhcp_range = "10.64.200.10-10.64.200.250"',
        '',
      ].join('\n'),
    );
    const leases = join(lab.dir, 'etc', 'leases.d');
    mkdirSync(leases);
    const N = 10_000;
    const hex = (n) => n.toString(16).padStart(2, '0');
    for (let i = 0; i < N; i++) {
      const ip = `10.64.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
      const mac = `52:54:00:00:${hex(i >> 8)}:${hex(i & 255)}`;
      writeFileSync(join(leases, `vm${i}.toml`), `vm = "vm${i}"\nip = "${ip}"\nmac = "${mac}"\n`);
    }
    timed(lab.cli(['up']));
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      times.push(timed(lab.cli(['lease', 'add', `new${i}`, `10.64.100.${10 + i}`, '--mac', `52:54:00:ff:00:${hex(i)}`])));
    }
    const value = median(times);
    return { name: '`lease add` with 10,000 existing reservations', value: round(value), unit: 'ms', goal: '≤ 300 ms', ok: value <= 300 };
  });
}

/** execve calls that succeeded under `strace -f`, minus node itself. */
async function processesPerIdleUp() {
  const name = 'processes spawned per `up` with nothing to change';
  const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  if (strace.status !== 0) return { name, skipped: 'strace not installed (apt-get install strace)' };
  return withLab('procs', async (lab) => {
    timed(lab.cli(['up']));
    const trace = join(lab.dir, 'trace');
    const counts = [];
    for (let i = 0; i < 3; i++) {
      timed(inNs(lab.ns, ['strace', '-f', '-qq', '-e', 'trace=execve', '-o', trace, ...lab.cli(['up']).slice(4)]));
      const execs = readFileSync(trace, 'utf8').split('\n').filter((l) => /execve\(/.test(l) && / = 0$/.test(l));
      counts.push(execs.length - 1);
    }
    const value = Math.max(...counts);
    return { name, value, unit: 'processes', goal: '≤ 3', ok: value <= 3 };
  });
}

export async function bench() {
  if (process.getuid?.() !== 0) return [{ name: 'engine benchmarks', skipped: 'need root (network namespaces)' }];
  await topology.sweepOrphans(exec, 'nnb-(?:idle|cold|bash|lease|procs)');
  await topology.sweepOrphans(exec, 'nnc-cold');
  const rows = [];
  // BENCH_ONLY=idleUp,leaseAdd10k runs only those rows (e.g. `BENCH_ONLY=idleUp node bench/run.mjs`).
  const only = process.env.BENCH_ONLY?.split(',');
  for (const fn of [idleUp, coldUp, leaseAdd10k, processesPerIdleUp]) {
    if (only && !only.includes(fn.name)) continue;
    try {
      rows.push(...[await fn()].flat());
    } catch (e) {
      rows.push({ name: fn.name, error: e.message });
    }
  }
  return rows;
}
