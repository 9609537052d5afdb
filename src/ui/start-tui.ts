/**
 * How `loops` loads the screen: React's production build first (react-mode.ts), then the screen.
 * A plain .ts module on purpose: a .tsx file's compiled `react/jsx-runtime` import is hoisted above
 * its own imports, so run-tui.tsx could not set NODE_ENV early enough, and a development
 * jsx-runtime beside a production React draws nothing.
 */
import { restoreNodeEnv } from './react-mode.js';
import { runTui } from './run-tui.js';

restoreNodeEnv();

export { runTui };
export type { TuiOptions } from './run-tui.js';
