/**
 * Fixed pane heights from the terminal's rows. The frame stays one row shorter than the terminal:
 * an Ink frame as tall as the screen flickers and wipes the scrollback.
 */
export interface Layout {
  /** The whole frame. */
  height: number;
  /** Loop rows visible in the loops pane (its border adds two). */
  loopRows: number;
  /** The loops pane, borders included. */
  loopsHeight: number;
  /** The trace pane (or the help overlay in its place with the loops pane), borders included. */
  traceHeight: number;
  /** Trace lines visible: the pane less its borders and its title line. */
  traceLines: number;
}

const HEADER = 1;
const FOOTER = 2;
const BORDERS = 2;
const MIN_TRACE = BORDERS + 2;

export function computeLayout(rows: number, loopCount: number): Layout {
  const height = Math.max(rows - 1, HEADER + FOOTER + BORDERS + 1 + MIN_TRACE);
  const body = height - HEADER - FOOTER;
  // The loop list takes up to two fifths of the body; the trace gets the rest.
  const maxLoopRows = Math.max(1, Math.floor(body * 0.4) - BORDERS);
  const loopRows = Math.max(1, Math.min(loopCount, maxLoopRows));
  const loopsHeight = loopRows + BORDERS;
  const traceHeight = body - loopsHeight;
  return { height, loopRows, loopsHeight, traceHeight, traceLines: traceHeight - BORDERS - 1 };
}

/** The first index of a window of `size` rows that keeps `selected` in view, centred when it can. */
export function windowStart(selected: number, count: number, size: number): number {
  return Math.max(0, Math.min(selected - Math.floor(size / 2), count - size));
}
