/** Pure renderers of what `natnet-hook install` writes. Golden-tested against install/. */
import type { HookKind } from '../argv/grammar.js';
import { basename, relative } from 'node:path';
import { DEFAULT_NETWORK } from '../config/defaults.js';
import { BRIDGE_LINE } from '../hook/config-networks.js';
import { MAY_FAIL } from '../hook/may-fail.js';
import { DEFAULT_CONFIG, DEFAULT_LOG_DIR, hooksLogFile, layoutOf } from '../state/layout.js';
import { NatnetError } from '../errors.js';

export const HOOK_MARKER = "natnet-hook's libvirt";

export interface ShimValues {
  /** Absolute path of node: libvirt's PATH does not reach nvm or /opt installs. */
  node: string;
  /** The checkout or package (dist/, hooks/, install/), absolute. */
  app: string;
  /** Baked only when not the default: libvirt runs hooks with a scrubbed environment. */
  config: string | null;
  stateDir: string | null;
  /** The hooks log directory of these paths (state/layout.ts): the shim logs there when natnet-hook cannot load. */
  logDir: string;
  /** Our bridges at install time: when natnet-hook cannot load or decide, XML naming none of them is let through. */
  bridges: string[];
}

/**
 * hooks/qemu and hooks/network, both from hooks/shim.template: the may-fail list (hook/may-fail.ts),
 * the default paths (state/layout.ts) and the default bridge rendered in. `npm run build` writes
 * them; a unit test checks the committed files equal this.
 */
export function renderHookShim(template: string, kind: HookKind): string {
  const values: Record<string, string> = {
    '@KIND@': kind,
    '@OBJECT@': kind === 'qemu' ? 'VM' : 'NET',
    '@INPUT@': kind === 'qemu' ? 'domain' : '<hookData>',
    '@MAY_FAIL@': JSON.stringify(MAY_FAIL[kind]).replaceAll('"', "'").replaceAll(',', ', '),
    '@DEFAULT_CONFIG@': `'${DEFAULT_CONFIG}'`,
    '@DEFAULT_LOG_DIR@': `'${DEFAULT_LOG_DIR}'`,
    '@LOG_IN_STATE@': `'${relative('/s', layoutOf({ stateDir: '/s' }, {}).logDir)}'`,
    '@HOOKS_LOG@': `'${basename(hooksLogFile({ logDir: '/' }))}'`,
    '@DEFAULT_BRIDGE@': `'${DEFAULT_NETWORK.bridge}'`,
    '@BRIDGE_LINE@': BRIDGE_LINE.toString(),
  };
  return template.replace(/@[A-Z_]+@/g, (k) => {
    if (!Object.hasOwn(values, k)) throw new ShimError(`hook template: unknown placeholder ${k}`);
    return values[k];
  });
}

export class ShimError extends NatnetError {}

/** hooks/qemu or hooks/network with node's absolute path in the shebang and INSTALL filled in. */
export function renderShim(template: string, v: ShimValues): string {
  // the kernel splits a shebang at whitespace and truncates it (255 bytes on Linux >= 5.1)
  if (!v.node.startsWith('/') || /\s/.test(v.node) || Buffer.byteLength(v.node) > 200) {
    throw new ShimError(`node path ${JSON.stringify(v.node)}: expected an absolute path without spaces, at most 200 bytes (it goes in the hook's #! line)`);
  }
  const lines = template.split('\n');
  const at = lines.findIndex((l) => l.startsWith('const INSTALL = '));
  if (!lines[0].startsWith('#!') || at < 0 || !template.includes(HOOK_MARKER)) {
    throw new ShimError('hook template: expected a #! line, a "const INSTALL = " line and the natnet-hook marker');
  }
  lines[0] = `#!${v.node}`;
  lines[at] = `const INSTALL = ${JSON.stringify({ app: v.app, config: v.config, stateDir: v.stateDir, logDir: v.logDir, bridges: v.bridges })};`;
  return lines.join('\n');
}

/** NetworkManager drop-in: our bridges and dummies unmanaged, appended (+=) to the admin's own list. */
export function renderNmDropIn(ifnames: string[]): string {
  const list = [...new Set(ifnames)].map((n) => `interface-name:${n}`).join(';');
  return [
    "# natnet-hook: NetworkManager leaves natnet-hook's bridges and dummy anchors alone.",
    '[keyfile]',
    `unmanaged-devices+=${list}`,
    '',
  ].join('\n');
}

/** Placeholders a unit template may use. */
export function renderUnit(template: string, v: { node: string; bin: string; args: string; rwPaths: string }): string {
  return template.replaceAll('@NODE@', v.node).replaceAll('@BIN@', v.bin).replaceAll('@ARGS@', v.args).replaceAll('@RW_PATHS@', v.rwPaths);
}
