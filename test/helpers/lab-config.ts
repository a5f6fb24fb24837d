/** TOML the integration tests write, and the requirements every lab suite shares. */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../../src/model/types.js';
import { BIN, REPO } from './netns.js';

/** Binaries every namespace suite needs (see .ci/run for the packages). */
export const LAB_BINS = ['ip', 'ss', 'iptables-nft', 'iptables-legacy', 'nft', 'dnsmasq', 'udhcpc', 'busybox', 'socat', 'timeout'];

export type Firewall = Network['firewall'];

export interface NetworkOptions {
  firewall?: Firewall;
  name?: string;
  bridge?: string;
  address?: string;
  dhcpRange?: string;
  extra?: string[];
}

/** One [[network]] table: the handbook network unless overridden. */
export function networkToml(o: NetworkOptions = {}): string {
  return [
    '[[network]]',
    `name = "${o.name ?? 'natnet'}"`,
    `bridge = "${o.bridge ?? 'virbr10'}"`,
    'mac = "52:54:00:7e:27:af"',
    `address = "${o.address ?? '192.168.100.1/24'}"`,
    `dhcp_range = "${o.dhcpRange ?? '192.168.100.128-192.168.100.254'}"`,
    'domain = "natnet"',
    `firewall = "${o.firewall ?? 'auto'}"`,
    ...(o.extra ?? []),
    '',
  ].join('\n');
}

export function leaseToml(l: { vm: string; ip: string; mac?: string; hostname?: string }, table = true): string {
  return [
    ...(table ? ['[[lease]]'] : []),
    `vm = "${l.vm}"`,
    `ip = "${l.ip}"`,
    ...(l.mac ? [`mac = "${l.mac}"`] : []),
    ...(l.hostname ? [`hostname = "${l.hostname}"`] : []),
    '',
  ].join('\n');
}

/** Fails loudly when the CLI was not built: integration tests run dist/ through bin/natnet-hook. */
export function assertBuilt(): void {
  const entry = /from '([^']+)'/.exec(readFileSync(BIN, 'utf8'))?.[1] ?? '../dist/cli.js';
  const path = join(REPO, 'bin', entry);
  if (!existsSync(path)) throw new Error(`${path} missing: run \`npm run build\` before the integration tests`);
}

/** The iptables variant the host's `iptables` points at (Debian alternatives). */
export function hostIptablesVariant(): 'nft' | 'legacy' {
  try {
    return realpathSync('/usr/sbin/iptables').includes('legacy') ? 'legacy' : 'nft';
  } catch {
    return 'nft';
  }
}

export interface BackendCase {
  label: string;
  firewall: Firewall;
  /** Env for the CLI (NATNET_HOOK_IPTABLES forces the other variant). */
  env: Record<string, string>;
  /** iptables-save of the variant in use ('' for nftables) and of the one that must stay untouched. */
  save: string;
  otherSave: string;
}

/** The host's iptables variant, the other variant forced, and native nftables. */
export function backendCases(): BackendCase[] {
  const host = hostIptablesVariant();
  const other = host === 'nft' ? 'legacy' : 'nft';
  return [
    { label: `iptables (host variant: ${host})`, firewall: 'iptables', env: {}, save: `iptables-${host}-save`, otherSave: `iptables-${other}-save` },
    { label: `iptables (forced variant: ${other})`, firewall: 'iptables', env: { NATNET_HOOK_IPTABLES: other }, save: `iptables-${other}-save`, otherSave: `iptables-${host}-save` },
    { label: 'nftables', firewall: 'nftables', env: {}, save: '', otherSave: '' },
  ];
}
