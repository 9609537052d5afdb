import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
// The repository's own config: the test proves the rule as the lint runs it, not a copy of it.
const eslint = new ESLint({ cwd: root });

/** The boundary rule's messages for `code` linted as if it were the file at `path`. */
async function boundaryErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${path}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'loops/ui-imports').map((m) => m.message);
}

// Building the type-checked program takes seconds on a loaded machine; the rule itself is quick.
describe("the screen's import boundary (an allowlist)", { timeout: 120_000 }, () => {
  it('refuses engine folders the old blocklist did not name: daemon, fleet, triggers, process, notify', async () => {
    const code = [
      "export * from '../daemon/server.js';",
      "export { loadFleet } from '../fleet/index.js';",
      "import '../triggers/index.js';",
      "import '../process/run.js';",
      "import '../notify/message.js';",
      "export const later = () => import('../telemetry/index.js');",
    ].join('\n');
    const errors = await boundaryErrors('src/ui/App.tsx', code);
    expect(errors).toHaveLength(6);
    expect(errors[0]).toContain('"../daemon/server.js" is src/daemon/server.js');
  });

  it('resolves the path from the importing file, so a deeper file is bounded the same', async () => {
    const errors = await boundaryErrors('src/ui/panes/spend.tsx', "import '../../hillclimb/index.js';");
    expect(errors).toEqual([expect.stringContaining('src/hillclimb/index.js')]);
    // From a pane, ../state.js is the screen's own state module, not src/state.
    expect(await boundaryErrors('src/ui/panes/spend.tsx', "import '../state.js';")).toEqual([]);
  });

  it('lets through ui modules, the engine protocol and libraries', async () => {
    const code = [
      "import './theme.js';",
      "import '../core/events.js';",
      "import '../core/control.js';",
      "import 'ink';",
      "import 'node:path';",
    ].join('\n');
    expect(await boundaryErrors('src/ui/App.tsx', code)).toEqual([]);
    expect(await boundaryErrors('src/ui/App.tsx', "import '../core/supervisor.js';")).toHaveLength(1);
  });
});
