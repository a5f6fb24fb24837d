import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import type { LinkState } from '../../src/observe/links.js';
import { preflightProblems, toolsNeeded } from '../../src/plan/preflight.js';
import type { Step } from '../../src/plan/steps.js';

const [net] = parseMainConfig('', new Problems('f')).networks;
const link = (name: string, addresses: string[]): [string, LinkState] => [name, { name, kind: 'veth', mac: '02:00:00:00:00:01', up: true, master: null, addresses }];
const create: Step = { kind: 'ip-batch', why: 'create bridge', lines: [`link add ${net.bridge} type bridge`, `addr add ${net.gateway}/${net.prefix} dev ${net.bridge}`] };
const steps: Step[] = [create, { kind: 'firewall', why: 'rules', argv: ['nft', '-f', '-'], input: '' }, { kind: 'dnsmasq-start', why: 'dnsmasq', conf: '/c', pidFile: '/p' }];

describe('preflight (pure)', () => {
  it('names the programs each step runs', () => {
    expect(toolsNeeded(steps).sort()).toEqual(['dnsmasq', 'ip', 'nft']);
    expect(toolsNeeded([])).toEqual([]);
  });

  it('an address of another interface overlapping the subnet is a problem naming the interface; our own bridge and other subnets are not', () => {
    const links = new Map([link('virbr0', ['192.168.100.5/16']), link(net.bridge, [`${net.gateway}/${net.prefix}`]), link('eth0', ['10.0.0.2/8'])]);
    const problems = preflightProblems(net, steps, links, []);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('virbr0 already has 192.168.100.5/16');
  });

  it('only when the plan adds the address (an up with nothing to change never refuses)', () => {
    const links = new Map([link('virbr0', ['192.168.100.1/24'])]);
    expect(preflightProblems(net, [], links, [])).toEqual([]);
  });

  it('a missing program: one line naming it and the fix', () => {
    expect(preflightProblems(net, steps, new Map(), ['dnsmasq'])).toEqual([
      'dnsmasq: not found in PATH, and the plan for network natnet needs it (install the package that provides it)',
    ]);
  });
});
