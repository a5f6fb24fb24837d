// Bundles the start-up-critical entries into dist/fast/ (tsc's dist/ tree stays for tests and tools).
//
// The CLI is CommonJS (bin/package.json makes the bin shim CommonJS too): no ES module loader on
// the way, ~10 ms less per run. Parsing is what costs then (a 560 KB bundle took ~12 ms to
// require), so cli.cjs holds only what `up` needs; commander (program.cjs), the hook command
// (hook-command.cjs) and pino (pino.cjs) are sibling files it require()s when they are needed.
// Each sibling bundles its own copy of the shared modules; errors are handled inside each.
//
// hook/main.js and hook/prefilter.cjs are what the installed libvirt hook shims load.
// dist/fast/ needs no node_modules at run time (`natnet-hook install` copies only it, bin/, hooks/
// and install/): dbus-next is a sibling bundle only the listener require()s, pino is bundled.
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

// stale chunks (their names carry a hash) would otherwise be copied by every install
rmSync('dist/fast', { recursive: true, force: true });

const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning' };

/** Resolve these imports to sibling bundles at run time instead of bundling them. */
const siblings = (map) => ({
  name: 'siblings',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(map).map((k) => k.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: map[args.path], external: true }));
  },
});

const cjs = {
  ...common,
  format: 'cjs',
  external: ['dbus-next'],
  // import() of a sibling would go through the ES module loader, which lexes the whole CommonJS
  // file for its exports (~25 ms for program.cjs): make every import() a plain require()
  supported: { 'dynamic-import': false },
  // code that locates files relative to itself (install: the app dir; log: pino) keeps working
  define: { 'import.meta.url': '__natnetModuleUrl' },
  banner: { js: "const __natnetModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
};

await build({ ...cjs, entryPoints: ['scripts/pino-entry.cjs'], outfile: 'dist/fast/pino.cjs' });
// usocket (optional native module; absent, dbus-next falls back to node's net) and x11 (session bus
// autolaunch, never on the system bus) are not installed and stay unresolved
await build({ ...cjs, entryPoints: ['node_modules/dbus-next/index.js'], outfile: 'dist/fast/dbus-next.cjs', external: ['usocket', 'x11'] });
// execa (the one process runner) likewise: inlined it would add ~5 ms to every require of a CLI bundle
await build({ ...cjs, entryPoints: ['scripts/execa-entry.mjs'], outfile: 'dist/fast/execa.cjs' });
// ...through cached-require.cjs with V8's code cache of it: ~10 ms less on every run that spawns
copyFileSync('scripts/cached-require.cjs', 'dist/fast/cached-require.cjs');
copyFileSync('scripts/execa-cached.cjs', 'dist/fast/execa-cached.cjs');
copyFileSync('scripts/program-cached.cjs', 'dist/fast/program-cached.cjs');
// warmed by one real run, as the runner's first spawn would (a build always has a node to run)
await createRequire(import.meta.url)('./make-code-cache.cjs')('dist/fast/execa.cjs', (m) => m.execa(process.execPath, ['-e', '0']));
await build({
  ...cjs,
  entryPoints: ['src/program.ts'],
  outfile: 'dist/fast/program.cjs',
  plugins: [siblings({ pino: './pino.cjs', execa: './execa-cached.cjs', 'dbus-next': './dbus-next.cjs', '../commands/hook.js': './hook-command.cjs' })],
});
await build({ ...cjs, entryPoints: ['src/commands/hook.ts'], outfile: 'dist/fast/hook-command.cjs', plugins: [siblings({ pino: './pino.cjs', execa: './execa-cached.cjs' })] });
await build({
  ...cjs,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/fast/cli.cjs',
  plugins: [siblings({ pino: './pino.cjs', execa: './execa-cached.cjs', 'dbus-next': './dbus-next.cjs', './program.js': './program-cached.cjs', '../commands/hook.js': './hook-command.cjs' })],
});
// bin/natnet-hook loads cli.cjs through cached-require.cjs too, and cli.cjs program.cjs: compiling
// them costs ~10 ms on every command (program.cjs: ~3 ms more than from the cache). Taken after
// loading only (running a command here would touch the host); functions first called later
// compile as they would without a cache.
for (const f of ['dist/fast/cli.cjs', 'dist/fast/program.cjs']) await createRequire(import.meta.url)('./make-code-cache.cjs')(f, () => {});

await build({
  ...common,
  entryPoints: ['src/hook/main.ts'],
  outbase: 'src',
  outdir: 'dist/fast',
  splitting: true,
  format: 'esm',
  // pino is bundled (no node_modules at run time); the hook never loads dbus-next
  external: ['dbus-next'],
  // commander (CommonJS) needs a real require() inside an ES module bundle
  banner: { js: "import { createRequire as __natnetRequire } from 'node:module'; const require = __natnetRequire(import.meta.url);" },
});

// The installed hook shim require()s this CommonJS prefilter first: it decides "not our bridges"
// (and an unchanged VM's repeated prepare) without loading an ES module graph at all.
// minified: it is parsed on every hook call (its errors never reach a user, they fall through to main.js)
await build({ ...common, entryPoints: ['src/hook/prefilter.ts'], outfile: 'dist/fast/hook/prefilter.cjs', format: 'cjs', minify: true });

// hooks/qemu and hooks/network are rendered from ONE template (the may-fail list and default paths
// come from the source: src/install/render.ts renderHookShim); a unit test keeps the committed copies equal.
{
  const { readFileSync, writeFileSync, chmodSync } = await import('node:fs');
  const { renderHookShim } = await import('../dist/install/render.js');
  const template = readFileSync('hooks/shim.template', 'utf8');
  for (const kind of ['qemu', 'network']) {
    const file = `hooks/${kind}`;
    const text = renderHookShim(template, kind);
    let old = null;
    try {
      old = readFileSync(file, 'utf8');
    } catch {}
    if (old !== text) writeFileSync(file, text);
    chmodSync(file, 0o755);
  }
}
