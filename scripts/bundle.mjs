// Bundles the start-up-critical entries into dist/fast/ (tsc's dist/ tree stays for tests and tools):
// - cli.cjs: the whole CLI as ONE CommonJS file. bin/natnet-hook (CommonJS through bin/package.json)
//   require()s it: no ES module loader at all, which measured ~10 ms less per run than an ESM
//   entry with split chunks. Commands are still evaluated lazily (esbuild wraps each module).
// - hook/main.js and hook/prefilter.cjs: what the installed libvirt hook shims load.
// dbus-next stays external (loaded only by the listener); pino is bundled into cli.cjs and
// evaluated on the first line logged.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', external: ['dbus-next', 'pino'] };

await build({
  ...common,
  external: ['dbus-next'],
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/fast/cli.cjs',
  format: 'cjs',
  // code that locates files relative to itself (install: the app dir; log: pino) keeps working
  define: { 'import.meta.url': '__natnetModuleUrl' },
  banner: { js: "const __natnetModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

await build({
  ...common,
  entryPoints: ['src/hook/main.ts'],
  outbase: 'src',
  outdir: 'dist/fast',
  splitting: true,
  format: 'esm',
  // commander (CommonJS) needs a real require() inside an ES module bundle
  banner: { js: "import { createRequire as __natnetRequire } from 'node:module'; const require = __natnetRequire(import.meta.url);" },
});

// The installed hook shim require()s this CommonJS prefilter first: it decides "not our bridges"
// (and an unchanged VM's repeated prepare) without loading an ES module graph at all.
await build({
  ...common,
  entryPoints: ['src/hook/prefilter.ts'],
  outfile: 'dist/fast/hook/prefilter.cjs',
  format: 'cjs',
});
