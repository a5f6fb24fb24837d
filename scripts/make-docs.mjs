// Generates natnet-hook(8) and the bash/zsh completion scripts from the built program definition
// (commander), into dist/share/ at the paths packages install them below /usr.
// Run by `npm run build` after tsc; nothing here is kept by hand.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildProgram } from '../dist/program.js';
import { describeProgram } from '../dist/render/command-spec.js';
import { COMPLETION_FILES, renderBashCompletion, renderZshCompletion } from '../dist/render/completion.js';
import { MAN_PAGE_FILE, renderManPage } from '../dist/render/manpage.js';

const spec = describeProgram(buildProgram());
const out = {
  [MAN_PAGE_FILE]: renderManPage(spec),
  [COMPLETION_FILES.bash]: renderBashCompletion(spec),
  [COMPLETION_FILES.zsh]: renderZshCompletion(spec),
};
for (const [rel, text] of Object.entries(out)) {
  const file = join('dist', rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text, { mode: 0o644 });
}
