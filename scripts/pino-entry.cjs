// Entry of dist/fast/pino.cjs: pino bundled once, required by the CLI bundles on the first line logged.
module.exports = require('pino');
