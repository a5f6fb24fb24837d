// dist/fast/execa-cached.cjs: execa, compiled from V8's code cache when it fits (cached-require.cjs)
module.exports = require('./cached-require.cjs')('execa.cjs');
