import { describe, expect, it } from 'vitest';
import { Coalescer, mergeRequests, type RepairRequest } from '../../src/listen/coalescer.js';

const req = (reason: string, firewalld = false, networkManager = false): RepairRequest => ({ reasons: [reason], firewalld, networkManager });

describe('Coalescer', () => {
  it('merges a burst into one run with every distinct reason and flag', async () => {
    const runs: RepairRequest[] = [];
    const c = new Coalescer({ quietMs: 10, maxWaitMs: 1000, run: async (r) => void runs.push(r), onError: () => {} });
    for (let i = 0; i < 300; i++) c.request(req('firewalld config signal'));
    c.request(req('firewalld Reloaded', true));
    c.request(req('NetworkManager state 70', false, true));
    await c.idle();
    expect(runs).toEqual([{ reasons: ['firewalld config signal', 'firewalld Reloaded', 'NetworkManager state 70'], firewalld: true, networkManager: true }]);
  });

  it('never overlaps runs; requests during a run give exactly one more run', async () => {
    let active = 0;
    let maxActive = 0;
    const runs: string[][] = [];
    let release: () => void = () => {};
    const c = new Coalescer({
      quietMs: 1,
      maxWaitMs: 5,
      run: async (r) => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs.push(r.reasons);
        if (runs.length === 1) {
          await new Promise<void>((res) => {
            release = res;
          });
        }
        active--;
      },
      onError: () => {},
    });
    c.request(req('a'));
    while (runs.length === 0) await new Promise((r) => setTimeout(r, 1));
    c.request(req('b'));
    c.request(req('c'));
    release();
    await c.idle();
    expect(maxActive).toBe(1);
    expect(runs).toEqual([['a'], ['b', 'c']]);
  });

  it('reports a failing run and keeps working', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const c = new Coalescer({
      quietMs: 1,
      maxWaitMs: 5,
      run: async () => {
        n++;
        if (n === 1) throw new Error('engine said no');
      },
      onError: (e) => errors.push(e),
    });
    c.request(req('x'));
    await c.idle();
    c.request(req('y'));
    await c.idle();
    expect(n).toBe(2);
    expect(errors.map(String)).toEqual(['Error: engine said no']);
    expect(c.runs).toBe(2);
  });

  it('drops pending work on stop', async () => {
    let n = 0;
    const c = new Coalescer({ quietMs: 50, maxWaitMs: 50, run: async () => void n++, onError: () => {} });
    c.request(req('x'));
    await c.stop();
    c.request(req('y'));
    await new Promise((r) => setTimeout(r, 80));
    expect(n).toBe(0);
  });

  it('mergeRequests keeps order and de-duplicates', () => {
    expect(mergeRequests(req('a', true), { reasons: ['b', 'a'], firewalld: false, networkManager: true })).toEqual({
      reasons: ['a', 'b'],
      firewalld: true,
      networkManager: true,
    });
  });
});
