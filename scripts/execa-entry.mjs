// Entry of dist/fast/execa.cjs: execa bundled once, required by the CLI bundles at the first process spawn.
export { execa } from 'execa';
