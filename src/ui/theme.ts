/** Semantic colours: components name what a colour means, not the colour. */
import type { LoopStatus, TraceLine } from './state.js';

export const theme = {
  accent: 'cyan',
  muted: 'gray',
  border: 'gray',
  focusBorder: 'cyan',
  good: 'green',
  bad: 'red',
  warn: 'yellow',
  human: 'magenta',
  tool: 'blue',
} as const;

export type StatusLabel = LoopStatus | 'invalid';

export const STATUS_COLOR: Record<StatusLabel, string> = {
  idle: theme.muted,
  running: theme.accent,
  paused: theme.warn,
  stopping: theme.warn,
  verified: theme.good,
  budget: theme.warn,
  stalled: theme.warn,
  stopped: theme.muted,
  failed: theme.bad,
  invalid: theme.bad,
};

export function traceColor(line: TraceLine): string | undefined {
  switch (line.kind) {
    case 'model':
      return undefined;
    case 'tool':
      return theme.tool;
    case 'result':
    case 'grader':
      return line.ok === false ? theme.bad : theme.good;
    case 'run':
      return line.ok === false ? theme.warn : theme.accent;
    case 'human':
      return theme.human;
    case 'error':
      return theme.bad;
    case 'metric':
      return line.ok === false ? theme.warn : theme.good;
    case 'cache':
      return theme.warn;
    case 'trigger':
      return line.ok === false ? theme.warn : theme.human;
  }
}
