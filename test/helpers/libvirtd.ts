import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { boundedExec, mustRun } from '../../src/selftest/exec.js';
import { labId, sweepOrphans } from '../../src/selftest/topology.js';
import { type Background, spawnBackground, spawnBounded } from '../../src/sys/spawn.js';

/**
 * A real libvirtd (+ virtlogd) confined to a network + mount + PID namespace made for one test
 * file, derived from shared/reference/recipes/libvirtd-in-netns.sh. Inside, the daemons see
 * <lab>/state/etc/libvirt as /etc/libvirt and <lab>/state/run as /run; the root network namespace,
 * its sysctls and firewall are never touched. Everything is stopped by recorded pid in stop().
 */
// (bench/hook.mjs transpiles this file alone: import only from ../../src/, never a sibling helper)
const labExec = boundedExec(120);
const run = (argv: string[]) => mustRun(labExec, argv);
const DAEMON_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Exec {
  stdout: string;
  stderr: string;
  code: number;
}

export class LibvirtSandbox {
  /** "nnlv-<pid>-<hex>": a later run sweeps it (and what runs in it) if this process is killed. */
  readonly netns = labId('nnlv');
  readonly state: string;
  private holder: Background | null = null;
  holderPid = 0;

  constructor(readonly lab: string) {
    this.state = join(lab, 'state');
  }

  /** Private libvirt config tree (no 'default' network; QEMU as root, no relabelling), netns, holder. */
  async start(): Promise<void> {
    for (const d of ['run', 'etc', 'var/lib/libvirt', 'var/log/libvirt', 'var/cache/libvirt']) mkdirSync(join(this.state, d), { recursive: true });
    const etc = join(this.state, 'etc/libvirt');
    rmSync(etc, { recursive: true, force: true });
    cpSync('/etc/libvirt', etc, { recursive: true });
    rmSync(join(etc, 'qemu/networks/default.xml'), { force: true });
    rmSync(join(etc, 'qemu/networks/autostart'), { recursive: true, force: true });
    rmSync(join(etc, 'hooks'), { recursive: true, force: true });
    mkdirSync(join(etc, 'hooks'));
    appendFileSync(join(etc, 'libvirtd.conf'), '\nlog_level = 3\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n');
    // the test's files live in a 0700 temp dir; no DAC relabelling of the host's files either
    appendFileSync(join(etc, 'qemu.conf'), '\nuser = "root"\ngroup = "root"\ndynamic_ownership = 0\nremember_owner = 0\n');
    await sweepOrphans(labExec, 'nnlv');
    await run(['ip', 'netns', 'add', this.netns]);
    this.holder = await spawnBackground(
      ['ip', 'netns', 'exec', this.netns, 'unshare', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', join(import.meta.dirname, 'libvirtd-holder.sh'), this.state],
      { detached: true },
    );
    for (let i = 0; i < 100 && !existsSync(join(this.state, 'holder.ready')); i++) await sleep(50);
    if (!existsSync(join(this.state, 'holder.ready'))) throw new Error('libvirtd sandbox: holder did not start');
    // the holder is unshare's child: PID 1 of the new PID namespace
    const { stdout } = await run(['pgrep', '-P', String(this.holder.pid), '-f', 'libvirtd-holder.sh']);
    this.holderPid = Number(stdout.trim().split('\n')[0]);
    if (!this.holderPid) throw new Error('libvirtd sandbox: holder pid not found');
    await this.startDaemons(true);
  }

  /** argv inside the sandbox (its pid, mount and network namespaces). */
  async exec(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Exec> {
    // opts.env is the whole environment (the daemons get a scrubbed one, as under systemd)
    const r = await spawnBounded(['nsenter', '-t', String(this.holderPid), '-p', '-m', '-n', '--', ...argv], {
      input: opts.input,
      env: opts.env ?? process.env,
      extendEnv: false,
      timeoutSeconds: 120,
    });
    return { stdout: r.stdout, stderr: r.stderr, code: r.code ?? 128 };
  }

  async must(argv: string[]): Promise<string> {
    const r = await this.exec(argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} → ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  virsh(...args: string[]): Promise<Exec> {
    return this.exec(['virsh', '-q', '-c', 'qemu:///system', ...args]);
  }

  async startDaemons(withLog = false): Promise<void> {
    const env = { PATH: DAEMON_PATH, HOME: '/root', LANG: 'C.UTF-8' };
    if (withLog) await this.mustEnv(['virtlogd', '-d'], env);
    await this.mustEnv(['libvirtd', '-d'], env);
    for (let i = 0; i < 300; i++) {
      if ((await this.virsh('version')).code === 0) return;
      await sleep(100);
    }
    throw new Error('libvirtd did not answer');
  }

  private async mustEnv(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
    const r = await this.exec(argv, { env });
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  }

  /** Pid (inside the sandbox's PID namespace) from a pid file under its /run. */
  daemonPid(name: 'libvirtd' | 'virtlogd'): number | null {
    try {
      return Number(readFileSync(join(this.state, 'run', `${name}.pid`), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  }

  /** SIGTERM libvirtd and wait for it to exit (running VMs stay up: QEMU is not its child any more). */
  async stopLibvirtd(): Promise<void> {
    const pid = this.daemonPid('libvirtd');
    if (!pid) return;
    await this.exec(['kill', '-TERM', String(pid)]);
    for (let i = 0; i < 100; i++) {
      if ((await this.exec(['kill', '-0', String(pid)])).code !== 0) return;
      await sleep(100);
    }
    throw new Error('libvirtd did not stop');
  }

  /** Everything down: VMs, daemons, the PID namespace (its PID 1), the netns. Never throws. */
  async stop(): Promise<void> {
    try {
      if (this.holderPid) {
        const names = (await this.virsh('list', '--name')).stdout.split('\n').filter(Boolean);
        for (const vm of names) await this.virsh('destroy', vm);
        await this.stopLibvirtd().catch(() => {});
        const vl = this.daemonPid('virtlogd');
        if (vl) await this.exec(['kill', '-TERM', String(vl)]);
        process.kill(this.holderPid, 'SIGTERM'); // PID 1 exits: the kernel kills what is left inside
        for (let i = 0; i < 50; i++) {
          try {
            process.kill(this.holderPid, 0);
          } catch {
            break;
          }
          await sleep(100);
        }
      }
    } catch {
      // best effort; the netns goes anyway
    }
    await labExec(['ip', 'netns', 'del', this.netns]);
  }

  writeFile(rel: string, text: string): string {
    const p = join(this.lab, rel);
    writeFileSync(p, text);
    return p;
  }
}

/** A TCG domain booting `kernel`+`initrd`, serial console to a file, NICs as given (XML snippets). */
export function guestDomainXml(o: { name: string; kernel: string; initrd: string; console: string; interfaces: string[]; metadata?: string }): string {
  const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll("'", '&apos;');
  return `<domain type='qemu'>
  <name>${esc(o.name)}</name>
  ${o.metadata ? `<metadata>${o.metadata}</metadata>` : ''}
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${esc(o.kernel)}</kernel>
    <initrd>${esc(o.initrd)}</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=1 no_timer_check tsc=unstable</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    ${o.interfaces.join('\n    ')}
    <serial type='file'><source path='${esc(o.console)}' append='on'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

export function bridgeInterface(bridge: string, mac: string): string {
  return `<interface type='bridge'><mac address='${mac}'/><source bridge='${bridge}'/><model type='virtio'/></interface>`;
}
