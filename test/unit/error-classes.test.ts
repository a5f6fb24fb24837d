import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NatnetError } from '../../src/errors.js';
import { DefaultNetworkError } from '../../src/install/default-network.js';
import { InstallError } from '../../src/install/apply.js';
import { ShimError } from '../../src/install/render.js';
import { DomainXmlError } from '../../src/libvirt/domain.js';
import { NetworkXmlError } from '../../src/libvirt/network.js';
import { PlanConflict } from '../../src/plan/plan-network.js';
import { LabError } from '../../src/selftest/exec.js';

const SRC = new URL('../../src/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('every error class is a NatnetError (one handler, one line, an exit code)', () => {
  it('no class in src/ extends Error directly except NatnetError', () => {
    const direct = sources(SRC).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/class (\w+) extends (?:Error|TypeError|RangeError)\b/g)].map((m) => `${f.slice(SRC.length)}: ${m[1]}`),
    );
    expect(direct).toEqual(['errors.ts: NatnetError']);
  });
  it('instanceof still tells them apart', () => {
    for (const C of [DomainXmlError, NetworkXmlError, PlanConflict, ShimError, InstallError, DefaultNetworkError, LabError]) {
      const e = new C('x');
      expect(e).toBeInstanceOf(NatnetError);
      expect(e).toBeInstanceOf(C);
      expect(e.exitCode).toBe(1);
    }
    expect(new DomainXmlError('x')).not.toBeInstanceOf(NetworkXmlError);
  });
});

describe('NatnetError across bundles', () => {
  it('an error made by another copy of the class (another bundle) is still a NatnetError; subclasses stay exact', async () => {
    const { NatnetError: Mine, ConfigError } = await import('../../src/errors.js');
    const foreign = Object.assign(new Error('from program.cjs'), { [Symbol.for('natnet-hook.error')]: true, exitCode: 3 });
    expect(foreign instanceof Mine).toBe(true);
    expect(foreign instanceof ConfigError).toBe(false);
    expect(new Error('plain') instanceof Mine).toBe(false);
    expect(new ConfigError([]) instanceof Mine).toBe(true);
  });
});
