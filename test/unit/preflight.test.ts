import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { ExitCode } from '../../src/errors.js';
import type { AppliedRecord } from '../../src/model/applied.js';
import type { Network } from '../../src/model/types.js';
import type { LinkState } from '../../src/observe/links.js';
import { debianPackageOf } from '../../src/observe/tools.js';
import { type PreflightInput, preflightError, preflightProblems, toolsNeeded } from '../../src/plan/preflight.js';
import type { Step } from '../../src/plan/steps.js';

const [net] = parseMainConfig('', new Problems('f')).networks;
const link = (name: string, addresses: string[], kind = 'veth'): [string, LinkState] => [name, { name, kind, mac: '02:00:00:00:00:01', up: true, master: null, addresses }];
const create: Step = { kind: 'ip-batch', why: 'create bridge', lines: [`link add ${net.bridge} type bridge`, `addr add ${net.gateway}/${net.prefix} dev ${net.bridge}`] };
const steps: Step[] = [create, { kind: 'firewall', why: 'rules', argv: ['nft', '-f', '-'], input: '' }, { kind: 'dnsmasq-start', why: 'dnsmasq', conf: '/c', pidFile: '/p' }];
const record = (n: Network, createdBridge: boolean): AppliedRecord => ({
  network: n,
  links: { bridges: [{ name: n.bridge, created: createdBridge, addresses: [] }], dummies: [] },
  firewalls: [{ backend: 'nftables', iptablesVariant: null, bridge: n.bridge }],
  dnsmasq: true,
  dummyUnsupported: null,
  appliedAt: '',
});
const input = (o: Partial<PreflightInput>): PreflightInput => ({
  net,
  steps,
  links: new Map(),
  missingTools: [],
  records: [],
  previous: null,
  libvirtBridges: () => new Map(),
  addsAddress: true,
  addsAddress6: false,
  ...o,
});

describe('preflight (pure)', () => {
  it('names the programs each step runs', () => {
    expect(toolsNeeded(steps).sort()).toEqual(['dnsmasq', 'ip', 'nft']);
    expect(toolsNeeded([])).toEqual([]);
  });

  it('an address of another interface overlapping the subnet is a conflict naming the interface; our own bridge and other subnets are not', () => {
    const links = new Map([link('virbr9', ['192.168.100.5/16']), link(net.bridge, [`${net.gateway}/${net.prefix}`], 'bridge'), link('eth0', ['10.0.0.2/8'])]);
    const p = preflightProblems(input({ links, previous: record(net, true) }));
    expect(p.failures).toEqual([]);
    expect(p.conflicts).toHaveLength(1);
    expect(p.conflicts[0]).toContain('virbr9 already has 192.168.100.5/16');
    expect(preflightError(p)?.exitCode).toBe(ExitCode.config);
  });

  it("a libvirt network's bridge is named as such; the map is read only when something is in the way", () => {
    let reads = 0;
    const libvirtBridges = () => {
      reads++;
      return new Map([['virbr0', 'default']]);
    };
    expect(preflightProblems(input({ libvirtBridges })).conflicts).toEqual([]);
    expect(reads).toBe(0);
    const p = preflightProblems(input({ links: new Map([link('virbr0', ['192.168.100.1/24'], 'bridge')]), libvirtBridges }));
    expect(p.conflicts).toEqual([expect.stringContaining("virbr0 (libvirt network 'default') already has 192.168.100.1/24")]);
  });

  it('only when the plan adds the address (an up with nothing to change never refuses)', () => {
    const links = new Map([link('virbr0', ['192.168.100.1/24'])]);
    expect(preflightProblems(input({ steps: [], links, addsAddress: false }))).toEqual({ conflicts: [], failures: [] });
  });

  it('an existing bridge without a record is refused unless adopt = true; a record (ours or adopted by an older version) keeps it', () => {
    const links = new Map([link(net.bridge, [], 'bridge')]);
    const refused = preflightProblems(input({ links }));
    expect(refused.conflicts).toEqual([expect.stringMatching(/^network natnet: virbr10 already exists and natnet-hook did not create it; .*set adopt = true/)]);
    expect(preflightError(refused)?.exitCode).toBe(ExitCode.config);
    expect(preflightProblems(input({ links, net: { ...net, adopt: true } })).conflicts).toEqual([]);
    expect(preflightProblems(input({ links, previous: record(net, false) })).conflicts).toEqual([]);
    expect(preflightProblems(input({ links, records: [record({ ...net, name: 'old' }, true)] })).conflicts).toEqual([]);
  });

  it('a missing program: one line naming it and its Debian package, exit 1 (also next to a conflict)', () => {
    const p = preflightProblems(input({ missingTools: ['dnsmasq'] }));
    expect(p.failures).toEqual(['dnsmasq: not found in PATH, and the plan for network natnet needs it (install the package that provides it: apt install dnsmasq-base)']);
    expect(preflightError(p)?.exitCode).toBe(ExitCode.failure);
    expect(preflightError({ conflicts: ['x'], failures: ['y'] })?.exitCode).toBe(ExitCode.failure);
    expect(preflightError({ conflicts: [], failures: [] })).toBeNull();
  });

  it('Debian packages of the programs natnet-hook runs', () => {
    expect(['dnsmasq', 'ip', 'iptables-nft-restore', 'iptables-legacy-save', 'iptables-save', 'iptables', 'nft', 'ss', 'busybox'].map(debianPackageOf)).toEqual([
      'dnsmasq-base',
      'iproute2',
      'iptables',
      'iptables',
      'iptables',
      'iptables',
      'nftables',
      'iproute2',
      null,
    ]);
  });
});
