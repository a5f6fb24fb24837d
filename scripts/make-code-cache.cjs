// Build step: writes <bundle>.v8cache, V8's code cache of a CommonJS bundle after it ran once
// (so the functions a first process spawn uses are in it too). The node that builds is the node
// that runs it; a mismatch (V8 rejects the cache) only costs the normal compile.
const { readFileSync, writeFileSync } = require('node:fs');
const { wrap } = require('node:module');
const { dirname, resolve } = require('node:path');
const { Script } = require('node:vm');

/** `warm(exports)` exercises the bundle (e.g. one execa call) before the cache is taken. */
module.exports = async function makeCodeCache(path, warm) {
  const file = resolve(path);
  const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, require, mod, file, dirname(file));
  await warm(mod.exports);
  writeFileSync(`${file}.v8cache`, script.createCachedData());
};
