import { describe, expect, it } from 'vitest';
import { classifySignal, describeMessage, FW_NAME, matchRules, NM_NAME } from '../../src/listen/signals.js';

const SIGNAL = 4;
const owner = (name: string, oldOwner: string, newOwner: string) => ({
  type: SIGNAL,
  sender: 'org.freedesktop.DBus',
  path: '/org/freedesktop/DBus',
  interface: 'org.freedesktop.DBus',
  member: 'NameOwnerChanged',
  signature: 'sss',
  body: [name, oldOwner, newOwner],
});

describe('classifySignal', () => {
  it('maps firewalld and NetworkManager owner changes', () => {
    expect(classifySignal(owner(FW_NAME, '', ':1.5'))?.kind).toBe('firewalld-started');
    expect(classifySignal(owner(FW_NAME, ':1.5', ''))?.kind).toBe('firewalld-stopped');
    expect(classifySignal(owner(NM_NAME, '', ':1.7'))?.kind).toBe('nm-started');
    expect(classifySignal(owner(NM_NAME, ':1.7', ''))?.kind).toBe('nm-stopped');
    expect(classifySignal(owner('org.example.Other', '', ':1.9'))).toBeNull();
  });

  it('maps Reloaded, StateChanged, DeviceAdded and DeviceRemoved', () => {
    const base = { type: SIGNAL, sender: ':1.3' };
    expect(classifySignal({ ...base, interface: FW_NAME, member: 'Reloaded', signature: '', body: [] })?.kind).toBe('firewalld-reloaded');
    expect(classifySignal({ ...base, interface: NM_NAME, member: 'StateChanged', signature: 'u', body: [70] })).toEqual({
      kind: 'nm-changed',
      what: 'NetworkManager state 70',
    });
    expect(classifySignal({ ...base, interface: NM_NAME, member: 'DeviceAdded', signature: 'o', body: ['/org/freedesktop/NetworkManager/Devices/3'] })?.kind).toBe('nm-changed');
    expect(classifySignal({ ...base, interface: NM_NAME, member: 'DeviceRemoved', signature: 'o', body: ['/x'] })?.kind).toBe('nm-changed');
  });

  it('ignores malformed and unknown messages without throwing', () => {
    const weird = [
      { type: SIGNAL, interface: NM_NAME, member: 'StateChanged', signature: 's', body: ['bogus'] },
      { type: SIGNAL, interface: NM_NAME, member: 'DeviceAdded', signature: '', body: [] },
      { type: SIGNAL, interface: NM_NAME, member: 'DeviceAdded', signature: 'o', body: null },
      { type: SIGNAL, interface: NM_NAME, member: 'PropertiesChanged', signature: 'a{sv}', body: [{}] },
      { ...owner(FW_NAME, '', ':1.5'), sender: ':1.66' }, // forged: only the bus itself sends NameOwnerChanged
      { ...owner(FW_NAME, '', ':1.5'), signature: 'ss', body: [FW_NAME, 1n] },
      { type: SIGNAL, interface: 'org.example.X', member: 'Boom', body: [1n, Buffer.from('x')] },
      { type: 1, interface: FW_NAME, member: 'Reloaded' }, // a method call, not a signal
      {},
    ];
    for (const m of weird) expect(classifySignal(m)).toBeNull();
    const hostile = {
      type: SIGNAL,
      get interface(): string {
        throw new Error('boom');
      },
    };
    expect(classifySignal(hostile)).toBeNull();
    expect(describeMessage(hostile)).toBe('unprintable message');
  });
});

describe('matchRules', () => {
  it('subscribes to exactly the eight signals, by well-known sender (two of systemd for docker.service)', () => {
    expect(matchRules()).toMatchInlineSnapshot(`
      [
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.freedesktop.NetworkManager'",
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.fedoraproject.FirewallD1'",
        "type='signal',sender='org.fedoraproject.FirewallD1',interface='org.fedoraproject.FirewallD1',member='Reloaded'",
        "type='signal',sender='org.freedesktop.NetworkManager',interface='org.freedesktop.NetworkManager',member='StateChanged'",
        "type='signal',sender='org.freedesktop.NetworkManager',interface='org.freedesktop.NetworkManager',member='DeviceAdded'",
        "type='signal',sender='org.freedesktop.NetworkManager',interface='org.freedesktop.NetworkManager',member='DeviceRemoved'",
        "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved',arg2='docker.service'",
        "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path='/org/freedesktop/systemd1/unit/docker_2eservice',arg0='org.freedesktop.systemd1.Unit'",
      ]
    `);
  });
});

describe('classifySignal: systemd and docker.service', () => {
  const sig = (o: Record<string, unknown>) => ({ type: SIGNAL, sender: ':1.1', ...o });
  it('JobRemoved of docker.service is a Docker start; other units and bad bodies are ignored', () => {
    const job = (unit: unknown, signature = 'uoss') =>
      sig({ path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'JobRemoved', signature, body: [7, '/org/freedesktop/systemd1/job/7', unit, 'done'] });
    expect(classifySignal(job('docker.service'))).toEqual({ kind: 'docker-started', what: 'systemd job for docker.service done' });
    expect(classifySignal(job('ssh.service'))).toBeNull();
    expect(classifySignal(job('docker.service', 'uos'))).toBeNull();
  });
  it('ActiveState active on the docker unit is a Docker start; other states are not', () => {
    const props = (state: string, path = '/org/freedesktop/systemd1/unit/docker_2eservice') =>
      sig({ path, interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', signature: 'sa{sv}as', body: ['org.freedesktop.systemd1.Unit', { ActiveState: { value: state } }, []] });
    expect(classifySignal(props('active'))?.kind).toBe('docker-started');
    expect(classifySignal(props('deactivating'))).toBeNull();
    expect(classifySignal(props('active', '/org/freedesktop/systemd1/unit/ssh_2eservice'))).toBeNull();
  });
});
