/**
 * Shares the terminal's rows among the registered panes. The frame stays one row shorter than the
 * terminal: an Ink frame as tall as the screen flickers and wipes the scrollback.
 */
export const HEADER_ROWS = 1;
export const FOOTER_ROWS = 2;

export interface PaneRequest {
  id: string;
  minHeight: number;
  grow: number;
  /** The most rows it can use. */
  max: number;
  /** Rows it asks for in the first pass (default minHeight), e.g. one per loop. */
  prefer?: number;
}

export interface Layout {
  /** The whole frame. */
  height: number;
  /** Rows between the header and the footer (what overlays take). */
  body: number;
  /** Rows per pane id: 1 means collapsed to its title line, 0 not shown. */
  heights: Record<string, number>;
}

const MIN_FRAME = HEADER_ROWS + FOOTER_ROWS + 3;

/**
 * The first pane and the focused one get their minimum first, then the rest in order while each
 * still leaves a title line for the ones after it; leftover rows go by `grow` (the focused pane
 * counts double), never past a pane's max. Heights always sum to the body.
 */
export function computeLayout(rows: number, panes: readonly PaneRequest[], focused: string): Layout {
  const height = Math.max(rows - 1, MIN_FRAME);
  const body = height - HEADER_ROWS - FOOTER_ROWS;
  const heights: Record<string, number> = Object.fromEntries(panes.map((pane) => [pane.id, 0]));
  const first = panes[0];
  const order = [
    ...(first ? [first] : []),
    ...panes.filter((pane) => pane.id === focused && pane !== first),
    ...panes.filter((pane) => pane.id !== focused && pane !== first),
  ];
  let left = body;
  const place = (pane: PaneRequest, i: number, rows: number): void => {
    // Every pane after this one keeps at least its title line.
    const after = order.length - i - 1;
    const want = Math.min(Math.max(rows, pane.minHeight), Math.max(pane.max, 1));
    if (left - want >= after) {
      heights[pane.id] = want;
      left -= want;
    } else if (left - 1 >= after || (left > 0 && after === 0)) {
      heights[pane.id] = 1;
      left -= 1;
    }
  };
  // The first pane and the focused one get their minimum, then the first pane what it prefers
  // (one row per loop), then the others their minimum in order.
  const leading = order.slice(0, order[1]?.id === focused ? 2 : 1);
  leading.forEach((pane, i) => place(pane, i, pane.minHeight));
  if (first !== undefined && (heights[first.id] ?? 0) >= first.minHeight) {
    const extra = Math.min(
      Math.max(0, (first.prefer ?? 0) - (heights[first.id] ?? 0)),
      first.max - (heights[first.id] ?? 0),
      // Leaves the other panes their title lines and the next one a few rows to show.
      left - (order.length - leading.length) - 4,
    );
    if (extra > 0) {
      heights[first.id] = (heights[first.id] ?? 0) + extra;
      left -= extra;
    }
  }
  order.slice(leading.length).forEach((pane, i) => place(pane, i + leading.length, pane.minHeight));
  // Leftover rows by weight, a few at a time so rounding never overshoots.
  while (left > 0) {
    const open = order.filter((pane) => {
      const h = heights[pane.id] ?? 0;
      return h >= pane.minHeight && pane.grow > 0 && h < pane.max;
    });
    if (open.length === 0) break;
    const weight = (pane: PaneRequest): number => pane.grow * (pane.id === focused ? 2 : 1);
    const total = open.reduce((sum, pane) => sum + weight(pane), 0);
    let given = 0;
    for (const pane of open) {
      const share = Math.max(1, Math.floor((left * weight(pane)) / total));
      const h = heights[pane.id] ?? 0;
      const add = Math.min(share, pane.max - h, left - given);
      if (add <= 0) continue;
      heights[pane.id] = h + add;
      given += add;
    }
    if (given === 0) break;
    left -= given;
  }
  // Rows nobody can use go to the pane drawn in full that grows most, so the frame keeps its height.
  if (left > 0) {
    const full = order.filter((pane) => (heights[pane.id] ?? 0) >= pane.minHeight);
    const sink = [...full].sort((a, b) => b.grow - a.grow)[0] ?? order[0];
    if (sink) heights[sink.id] = (heights[sink.id] ?? 0) + left;
  }
  return { height, body, heights };
}

/** The first index of a window of `size` rows that keeps `selected` in view, centred when it can. */
export function windowStart(selected: number, count: number, size: number): number {
  return Math.max(0, Math.min(selected - Math.floor(size / 2), count - size));
}
