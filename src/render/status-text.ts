import { forwardLines } from './forward-lines.js';
import type { Ipv6Status, NetworkStatus, StatusReport } from '../engine/status.js';
import { displayArgv } from '../errors.js';
import type { ListenerStatusView } from '../listen/status-file.js';

const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');

const count = (k: number) => `${k} problem${k > 1 ? 's' : ''}`;

/** The first line of a network: its state, and what to do about it. */
function headline(n: NetworkStatus): string {
  switch (n.state) {
    case 'healthy':
      return `network ${n.name}: HEALTHY`;
    case 'degraded':
      return `network ${n.name}: DEGRADED (${count(n.problems.length)})`;
    case 'pending':
      return (
        `network ${n.name}: PENDING: config changed, not applied: ${n.configChanged.join(', ')} (\`natnet-hook up\` applies it)` +
        (n.problems.length ? `; applied network has ${count(n.problems.length)}` : '')
      );
    case 'down':
      return `network ${n.name}: ${n.problems.length ? `DOWN: ${n.problems.join('; ')}` : 'down (not applied; `natnet-hook up` brings it up)'}`;
  }
}

/** The IPv6 side: prefix and mode, our address and the bridge's sysctls, forwarding. */
function ipv6Lines(v: Ipv6Status): string[] {
  const wrong = Object.entries(v.wantSysctls).filter(([k, want]) => v.sysctls?.[k] !== want);
  const sysctlsOk = v.sysctls !== null && wrong.length === 0;
  const what = `${v.mode}, ${v.dhcpv6}${v.dhcpRange ? ` ${v.dhcpRange}` : ''}${v.auto ? ', auto prefix' : ''}`;
  if (v.gateway === null) return [`  ??   ipv6      prefix not generated yet (${what}; up generates and keeps it)`];
  return [
    `  ${mark(v.address && sysctlsOk)} ipv6      ${v.gateway}/${v.prefix} ${v.address ? 'on the bridge' : 'MISSING on the bridge'} (${what})` +
      (v.sysctls === null ? ', no IPv6 settings on the bridge' : wrong.length ? `, ${wrong.map(([k, want]) => `${k}=${v.sysctls?.[k]} (want ${want})`).join(' ')}` : ''),
    `  ${mark(v.forwarding)} forward6  net.ipv6.conf.all.forwarding=${v.forwarding ? 1 : 0}`,
  ];
}

function networkLines(n: NetworkStatus): string[] {
  // a network that is down is one line: there is nothing of it to check
  if (n.state === 'down') return [headline(n)];
  const b = n.bridge;
  const out: string[] = [];
  out.push(headline(n));
  out.push(
    `  ${mark(b.exists && b.up && b.mac === b.wantMac && b.addresses.includes(b.wantAddress))} bridge    ${b.name} ` +
      (b.exists
        ? `${b.up ? 'up' : 'DOWN'}, mac ${b.mac}${b.mac === b.wantMac ? '' : ` (want ${b.wantMac})`}, ${b.addresses.join(' ') || 'no address'}` +
          `${b.addresses.includes(b.wantAddress) ? '' : ` (want ${b.wantAddress})`}, stp ${b.stp ? `on, delay ${b.forwardDelay}s` : 'off'}`
        : 'MISSING'),
  );
  const d = n.dummy;
  const dummyOk = d.state === 'ok' || d.state === 'unsupported' || d.state === 'disabled';
  out.push(`  ${mark(dummyOk)} dummy     ${d.name ?? '-'}: ${d.state}${d.why ? ` (${d.why})` : ''}`);
  out.push(`  ${mark(n.forwarding)} forward   net.ipv4.ip_forward=${n.forwarding ? 1 : 0}`);
  if (n.ipv6) out.push(...ipv6Lines(n.ipv6));
  const fw = n.firewall.unchecked ? 'not checked' : n.firewall.ok ? 'all rules present, nothing unexpected' : 'drift';
  out.push(`  ${n.firewall.unchecked ? '??  ' : mark(n.firewall.ok)} firewall  ${n.backend}: ${fw}   [${n.backendWhy}]`);
  for (const m of n.firewall.missing) out.push(`              missing: ${m}`);
  for (const m of n.firewall.extra) out.push(`              unexpected: ${m}`);
  for (const j of n.firewall.missingJumps) out.push(`              missing jump: ${j.table} ${j.from} -j ${j.to}`);
  for (const j of n.firewall.duplicateJumps) out.push(`              duplicate jump: ${j.table} ${j.from} -j ${j.to}`);
  const dm = n.dnsmasq;
  out.push(
    `  ${mark(dm.alive && dm.hostsfileCurrent)} dnsmasq   ${dm.alive ? `pid ${dm.pid}, listening ${dm.listening.join(', ') || '(nothing?)'}` : 'NOT RUNNING'}` +
      (dm.hostsfileCurrent ? '' : ', hostsfile out of date'),
  );
  out.push(`       ports     ${b.ports.map((p) => `${p.name}${p.vm ? ` (${p.vm})` : ''}`).join(', ') || 'none'}`);
  out.push(`       reserved  ${n.reservations.length}${n.pending.length ? `, waiting for a MAC: ${n.pending.map((p) => p.vm).join(', ')}` : ''}`);
  for (const r of n.reservations.slice(0, 20)) out.push(`              ${r.ip.padEnd(15)} ${r.macs.join(',')}  ${r.vm}${r.hostname && r.hostname !== r.vm ? ` (${r.hostname})` : ''}`);
  if (n.reservations.length > 20) out.push(`              ... ${n.reservations.length - 20} more (natnet-hook lease list)`);
  out.push(...forwardLines(n.forwards));
  out.push(`       leases    ${n.leases.length} active`);
  for (const l of n.leases.slice(0, 20)) out.push(`              ${l.ip.padEnd(15)} ${l.mac}  ${l.hostname ?? '*'}  until ${l.expires}`);
  if (n.problems.length) {
    out.push('  problems:');
    for (const p of n.problems) out.push(`    - ${p}`);
  }
  return out;
}

/** The terminal view of `status`: one glance tells healthy or not, and what is wrong. */
export function renderStatusText(r: StatusReport): string {
  const out: string[] = [];
  for (const n of r.networks) out.push(...networkLines(n), '');
  for (const name of r.unconfigured) {
    out.push(`network ${name}: DEGRADED: still applied but no longer configured (\`natnet-hook down ${name}\` removes it)`, '');
  }
  if (r.badRecords.length) {
    out.push(`state: ${r.badRecords.length} bad record${r.badRecords.length > 1 ? 's' : ''} set aside, never used (inspect, then remove):`);
    for (const b of r.badRecords) out.push(`  ${b.file}: ${b.why}`);
    out.push('');
  }
  const l = r.listener;
  if (!l) out.push('listener: never ran on this host');
  else {
    out.push(`listener: ${l.running ? `running, pid ${l.pid}, since ${l.started}` : `not running (last seen ${l.updated})`}`);
    if (l.lastEvent) out.push(`  last event:  ${l.lastEvent.time} ${l.lastEvent.what}`);
    if (l.lastRepair) {
      const r = l.lastRepair;
      out.push(`  last repair: ${r.time} (${r.reason}) ${r.actions.length ? `${r.actions.length} change(s)` : 'nothing to change'}${r.error ? `, error: ${r.error}` : ''}`);
      for (const a of r.actions.slice(0, 8)) out.push(`               - ${a}`);
      if (r.actions.length > 8) out.push(`               ... ${r.actions.length - 8} more`);
    }
    out.push(...listenerReloadLines(l));
    for (const [br, managed] of Object.entries(l.nmManaged ?? {})) {
      const zone = l.firewalldZone?.[br];
      const nm = managed === null ? 'NetworkManager: not present' : managed ? 'NetworkManager: MANAGED' : 'NetworkManager: unmanaged';
      out.push(`  ${br}: ${nm}, firewalld zone: ${zone ?? 'none'}`);
      if (managed) out.push(`  WARNING: NetworkManager manages ${br}; re-run \`natnet-hook install\` (it writes the unmanaged-devices drop-in)`);
    }
  }
  for (const w of r.configWarnings) out.push(`config warning: ${w}`);
  return `${out.join('\n')}\n`;
}

/** The listener's last reload, and a config it rejected (a problem until a reload succeeds). */
export function listenerReloadLines(l: ListenerStatusView): string[] {
  const out: string[] = [];
  const r = l.lastReload;
  if (r) out.push(`  last reload: ${r.time} ${r.ok ? `adopted the config, ${r.actions.length ? `${r.actions.length} change(s)` : 'nothing to change'}` : 'REFUSED'}`);
  const e = l.configError;
  if (l.running && e) {
    out.push(
      `  PROBLEM: the config was invalid at ${e.at} (${e.reload ? 'reload' : 'periodic check'}): none of it applied, the listener keeps the configuration last applied (fix it, then natnet-hook reload)`,
    );
    for (const line of e.message.split('\n')) out.push(`    - ${displayArgv([line])}`);
  }
  return out;
}
