// Bundles the two start-up-critical entries (the CLI and the libvirt hook) into dist/fast/:
// one module graph per entry with lazily loaded chunks per command. Loading ~40 separate
// modules from dist/ costs more than Node's own start-up; the bundle is what bin/ and the
// hooks run. dbus-next and pino stay external (loaded only by the listener / on first log line).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli.ts', 'src/hook/main.ts'],
  outbase: 'src',
  outdir: 'dist/fast',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['dbus-next', 'pino'],
  // commander is CommonJS: give its require() calls a real require
  banner: { js: "import { createRequire as __natnetRequire } from 'node:module'; const require = __natnetRequire(import.meta.url);" },
  logLevel: 'warning',
});

// The installed hook shim require()s this CommonJS prefilter first: it decides "not our bridges"
// (and an unchanged VM's repeated prepare) without loading an ES module graph at all.
await build({
  entryPoints: ['src/hook/prefilter.ts'],
  outfile: 'dist/fast/hook/prefilter.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
