import { sysctlName } from '../sys/sysctl.js';
/** One unit of work of a plan. Pure data: the planner makes them, src/apply runs them. */
export type Step =
  | { kind: 'ip-batch'; why: string; lines: string[] }
  | { kind: 'dummy-create'; why: string; name: string; mac: string; bridge: string }
  | { kind: 'forwarding'; why: string }
  /**
   * onlyIfEmpty: an iptables-nft table ("nat") or built-in chain ("filter INPUT") that is deleted
   * only if it is still empty when the step runs (planned from an earlier look; someone may have
   * added rules since).
   */
  | { kind: 'firewall'; why: string; argv: string[]; input: string; tolerateFailure?: boolean; onlyIfEmpty?: string }
  | { kind: 'write-file'; why: string; path: string; content: string; mode: number }
  /** conf: the process is signalled only while its argv still names this --conf-file (pids get reused). */
  | { kind: 'dnsmasq-stop'; why: string; pid: number; conf: string }
  | { kind: 'dnsmasq-start'; why: string; conf: string; pidFile: string }
  | { kind: 'dnsmasq-reload'; why: string; pid: number; conf: string; pidFile: string }
  | { kind: 'remove-file'; why: string; path: string }
  /**
   * A write to /proc/sys/<key> (e.g. "net/ipv6/conf/virbr10/accept_ra"); key parts are validated
   * names. was: the value seen when planning (null: not readable then, e.g. a bridge this plan
   * creates). host: a host-wide change recorded in host-changes.json and put back by the last down.
   * ifExists: a put-back; a setting gone meanwhile (interface deleted, IPv6 off) is nothing to do.
   */
  | { kind: 'sysctl'; why: string; key: string; value: string; was: string | null; host?: 'forwarding6' | 'accept_ra'; ifExists?: boolean };


export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'ip-batch':
      return `${s.why}: ip -batch [${s.lines.join('; ')}]`;
    case 'dummy-create':
      return `${s.why}: ip link add ${s.name} address ${s.mac} type dummy; master ${s.bridge}`;
    case 'firewall':
      return `${s.why}: ${s.argv.join(' ')}`;
    case 'write-file':
      return `${s.why}: write ${s.path}`;
    case 'remove-file':
      return `${s.why}: remove ${s.path}`;
    case 'dnsmasq-stop':
    case 'dnsmasq-reload':
      return `${s.why}: pid ${s.pid}`;
    case 'dnsmasq-start':
      return `${s.why}: dnsmasq --conf-file=${s.conf}`;
    case 'forwarding':
      return `${s.why}: net.ipv4.ip_forward=1`;
    case 'sysctl':
      return `${s.why}: ${sysctlName(s.key)}=${s.value}`;
  }
}
