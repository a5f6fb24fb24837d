import { type Family, xtablesTool } from '../model/family.js';
import { existsSync, unlinkSync } from 'node:fs';
import type { Context } from '../engine/context.js';
import { NatnetError } from '../errors.js';
import { emptyChains, emptyTables, parseIptablesSave } from '../observe/iptables.js';
import { findOurDnsmasq, isOurDnsmasq, processArgv } from '../observe/procfs.js';
import { describeStep, type Step } from '../plan/steps.js';
import { FORWARDING4_KEY, writeSysctl } from '../sys/sysctl.js';
import { writeFileAtomic } from './atomic-write.js';

export interface StepOutcome {
  /** Set when a dummy could not be created because the kernel lacks the netdev. */
  dummyUnsupported?: string;
  dummyCreated?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > end) return false;
    await sleep(5);
  }
}

/** Runs one step; every process goes through ctx.runner, every file is written atomically. */
export async function executeStep(ctx: Context, step: Step): Promise<StepOutcome> {
  const started = performance.now();
  const outcome = await run(ctx, step);
  ctx.log.info({ action: describeStep(step), ms: Math.round(performance.now() - started), dryRun: ctx.dryRun || undefined }, step.why);
  return outcome;
}

async function run(ctx: Context, step: Step): Promise<StepOutcome> {
  const { runner } = ctx;
  switch (step.kind) {
    case 'ip-batch':
      await runner.run(['ip', '-batch', '-'], { input: `${step.lines.join('\n')}\n` });
      return {};
    case 'dummy-create': {
      const r = await runner.run(['ip', 'link', 'add', step.name, 'address', step.mac, 'type', 'dummy'], { allowFailure: true });
      if (r.code !== 0) {
        if (/Unknown device type|not supported/i.test(r.stderr)) {
          return { dummyUnsupported: `kernel has no dummy netdev (${r.stderr.trim().split('\n')[0]}); bridge MAC pinned instead` };
        }
        throw new NatnetError(`ip link add ${step.name} type dummy: ${r.stderr.trim().split('\n')[0]}`);
      }
      await runner.run(['ip', 'link', 'set', step.name, 'master', step.bridge, 'up']);
      return { dummyCreated: true };
    }
    case 'forwarding':
      if (!ctx.dryRun) writeSysctl(FORWARDING4_KEY, '1');
      return {};
    case 'sysctl':
      if (!ctx.dryRun) writeSysctl(step.key, step.value, step.ifExists);
      return {};
    case 'firewall':
      if (step.onlyIfEmpty && !(await stillEmpty(ctx, step.onlyIfEmpty, step.argv[3] === 'ip6' ? 'ipv6' : 'ipv4'))) {
        ctx.log.info({ action: describeStep(step) }, `left iptables-nft ${step.onlyIfEmpty}: it is not empty any more`);
        return {};
      }
      await runner.run(step.argv, { input: step.input, allowFailure: step.tolerateFailure });
      return {};
    case 'write-file':
      if (!ctx.dryRun) writeFileAtomic(step.path, step.content, step.mode);
      return {};
    case 'remove-file':
      if (!ctx.dryRun && existsSync(step.path)) unlinkSync(step.path);
      return {};
    case 'dnsmasq-stop': {
      // signalled only while /proc still shows our dnsmasq under this pid: never a reused pid
      const ours = () => isOurDnsmasq(step.pid, step.conf);
      if (ctx.dryRun || !ours() || !signal(step.pid, 'SIGTERM')) return {};
      // gone = exited; a zombie waiting for init to reap it counts as gone. Not "argv no longer
      // ours": an exiting process loses its argv before it closes its sockets.
      const gone = () => processArgv(step.pid) === null;
      if (!(await waitFor(gone, 3000)) && ours()) signal(step.pid, 'SIGKILL');
      await waitFor(gone, 1000);
      return {};
    }
    case 'dnsmasq-start':
      await startDnsmasq(ctx, step.conf, step.pidFile);
      return {};
    case 'dnsmasq-reload':
      if (ctx.dryRun) return {};
      // it died since we looked: a fresh start reads the new hostsfile anyway
      if (!isOurDnsmasq(step.pid, step.conf) || !signal(step.pid, 'SIGHUP')) await startDnsmasq(ctx, step.conf, step.pidFile);
      return {};
  }
}

/** An iptables-nft (or ip6tables-nft) table ("nat") or chain ("filter INPUT") holds no rule and no strict policy right now. */
async function stillEmpty(ctx: Context, what: string, family: Family): Promise<boolean> {
  if (ctx.dryRun) return true;
  const [table] = what.split(' ');
  const r = await ctx.runner.run([xtablesTool(family, 'nft', 'save'), '-t', table], { readOnly: true, allowFailure: true });
  if (r.code !== 0) return false;
  const dump = parseIptablesSave(r.stdout);
  return what.includes(' ') ? emptyChains(dump, [what]).length === 1 : emptyTables(dump, [table]).length === 1;
}

/** Sends a signal; false when the process is already gone. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

async function startDnsmasq(ctx: Context, conf: string, pidFile: string): Promise<void> {
  if (!ctx.dryRun && existsSync(pidFile)) unlinkSync(pidFile);
  // dnsmasq forks; its parent exits only after the child has bound its sockets
  await ctx.runner.run(['dnsmasq', `--conf-file=${conf}`]);
  if (ctx.dryRun) return;
  // the pid file is a hint; /proc (our --conf-file in its argv) is the proof
  if (!(await waitFor(() => findOurDnsmasq(conf, pidFile).length > 0, 3000))) {
    throw new NatnetError(`dnsmasq --conf-file=${conf} exited at once or is not running (see its log lines in the system journal)`);
  }
}
