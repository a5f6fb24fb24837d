/** The hook's paths are the one layout (src/state/layout.ts); these names stay for the hook code. */
export { DEFAULT_CONFIG, DEFAULT_LOG_DIR, type Layout as HookPaths, type LayoutOptions as HookOptions, layoutOf as hookPaths } from '../state/layout.js';
