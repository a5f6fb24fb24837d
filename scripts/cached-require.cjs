// Copied to dist/fast/cached-require.cjs by scripts/bundle.mjs. Loads a sibling CommonJS bundle with
// the V8 code cache the build wrote beside it (<file>.v8cache): compiling execa's 250 KB costs
// ~10 ms on every run that spawns a process, the cached code ~1 ms; bin/natnet-hook loads cli.cjs
// this way too. A cache V8 rejects (another
// Node version) or cannot read only means a normal compile; any other failure falls back to require.
const { readFileSync } = require('node:fs');
const { wrap } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

module.exports = function cachedRequire(name) {
  const file = join(__dirname, name);
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.v8cache`);
  } catch {
    return require(file);
  }
  try {
    const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
    const mod = { exports: {}, id: file, filename: file, loaded: false };
    script.runInThisContext()(mod.exports, require, mod, file, dirname(file));
    mod.loaded = true;
    return mod.exports;
  } catch {
    return require(file);
  }
};
