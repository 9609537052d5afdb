/** The terminal's size, re-read on resize so fixed pane heights follow the window. */
import { useStdout } from 'ink';
import { useCallback, useSyncExternalStore } from 'react';

export const FALLBACK_COLUMNS = 80;
export const FALLBACK_ROWS = 24;

export function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const subscribe = useCallback(
    (onChange: () => void) => {
      stdout.on('resize', onChange);
      return () => {
        stdout.off('resize', onChange);
      };
    },
    [stdout],
  );
  // A pipe or a test stream has no size: columns/rows are undefined or 0 there.
  const columns = useSyncExternalStore(subscribe, () => stdout.columns || FALLBACK_COLUMNS);
  const rows = useSyncExternalStore(subscribe, () => stdout.rows || FALLBACK_ROWS);
  return { columns, rows };
}
