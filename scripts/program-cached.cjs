// dist/fast/program-cached.cjs: the commander CLI (every command but a plain `up`), compiled from
// V8's code cache when it fits (cached-require.cjs)
module.exports = require('./cached-require.cjs')('program.cjs');
