import { describe, expect, it } from 'vitest';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { isFine } from '../../src/engine/status.js';
import type { DomainRecord } from '../../src/model/types.js';
import type { LinkState } from '../../src/observe/links.js';
import { configChanges } from '../../src/plan/config-changes.js';
import { describeRunning, runningTapsOn } from '../../src/plan/running-vms.js';

const [net] = parseMainConfig('', new Problems('f')).networks;
const link = (name: string, mac: string, master: string | null): [string, LinkState] => [name, { name, kind: 'tun', mac, up: true, master, addresses: [] }];
const dom = (vm: string, tap: string, running = true, bridge = 'virbr10'): DomainRecord => ({
  vm,
  nics: [{ mac: '52:54:00:aa:bb:01', bridge, tap }],
  metadataLeases: [],
  running,
  updated: '',
});

describe('pending: the config keys that changed since up', () => {
  it('names config keys, once each; keys read only when used are never pending', () => {
    expect(configChanges(net, net)).toEqual([]);
    expect(configChanges(net, { ...net, firewall: 'nftables', dhcpStart: '192.168.100.100', dhcpEnd: '192.168.100.200', gateway: '192.168.100.2' })).toEqual([
      'address',
      'firewall',
      'dhcp_range',
    ]);
    expect(configChanges(net, { ...net, autostart: !net.autostart, downWhenIdle: !net.downWhenIdle, adopt: !net.adopt })).toEqual([]);
  });
});

describe('running VMs on a bridge, confirmed by their taps', () => {
  const links = new Map([link('vnet0', 'fe:54:00:aa:bb:01', 'virbr10'), link('vnet1', '02:00:00:00:00:01', null)]);
  it('a running record whose tap exists counts; a stopped one, a gone tap or another bridge does not', () => {
    const taps = runningTapsOn([dom('web', 'vnet0'), dom('old', 'vnet0', false), dom('ghost', 'vnet9'), dom('elsewhere', 'vnet1', true, 'br0')], 'virbr10', links);
    expect(taps).toEqual([{ vm: 'web', tap: 'vnet0', master: 'virbr10', ownMac: true }]);
    expect(describeRunning(taps)).toBe('"web" (vnet0)');
  });
  it("a tap without the VM's MAC (fe: in front) is not one up re-attaches", () => {
    expect(runningTapsOn([dom('web', 'vnet1')], 'virbr10', links)).toEqual([{ vm: 'web', tap: 'vnet1', master: null, ownMac: false }]);
  });
});

describe('exit 0 for', () => {
  it('healthy, and down with nothing expecting it up; not degraded, pending or an autostart network the listener left down', () => {
    expect(isFine({ state: 'healthy', problems: [] })).toBe(true);
    expect(isFine({ state: 'down', problems: [] })).toBe(true);
    expect(isFine({ state: 'down', problems: ['autostart ...'] })).toBe(false);
    expect(isFine({ state: 'degraded', problems: ['x'] })).toBe(false);
    expect(isFine({ state: 'pending', problems: [] })).toBe(false);
  });
});
