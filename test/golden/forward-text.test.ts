import { describe, expect, it } from 'vitest';
import { golden } from './golden.js';
import { resolveForwards } from '../../src/config/forward.js';
import { parseMainConfig } from '../../src/config/parse.js';
import { Problems } from '../../src/config/problems.js';
import { renderForwardTable, renderVmFile } from '../../src/render/lease-file.js';
import { forwardLines } from '../../src/render/forward-lines.js';

describe('golden text of port forwards', () => {
  it('status lines: ok, missing rules, a port also bound on the host', () =>
    golden(
      'status-forwards.txt',
      `${forwardLines([
        { vm: 'web', listen: '*', proto: 'tcp', port: '8080', target: '192.168.100.10:80', sources: [], state: 'ok', why: null },
        { vm: 'web', listen: '203.0.113.1', proto: 'udp', port: '5000-5002', target: '192.168.100.10:5000-5002', sources: ['198.51.100.0/24'], state: 'missing', why: '1 of its 1 rule(s) missing' },
        { vm: 'db', listen: '*', proto: 'tcp', port: '5432', target: '192.168.100.11:5432', sources: [], state: 'bound', why: 'host port 5432/tcp also bound by a listening socket on 0.0.0.0' },
      ]).join('\n')}\n`,
    ));

  it('a leases.d file as forward add writes it (lease + forwards)', () => {
    const text = 'vm = "web"\nip = "192.168.100.10"\n[[forward]]\nvm = "web"\nport = "8080"\nto_port = "80"\n[[forward]]\nvm = "web"\nproto = "udp"\nport = "5000-5002"\nlisten = "203.0.113.1"\nsource = ["198.51.100.0/24", "192.0.2.7"]\n';
    const p = new Problems('cfg');
    const cfg = parseMainConfig(`[[lease]]\nvm = "web"\nip = "192.168.100.10"\n${text.split('\n').slice(2).join('\n')}`, p);
    const r = resolveForwards(cfg.networks, cfg.leases, cfg.forwards);
    expect([...p.list, ...r.problems]).toEqual([]);
    golden('forward-file.toml', renderVmFile(cfg.leases, cfg.forwards));
    expect(renderForwardTable(cfg.forwards[1])).toContain('source = ["198.51.100.0/24", "192.0.2.7/32"]');
  });
});
