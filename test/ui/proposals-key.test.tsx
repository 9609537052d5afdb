/** `r` (PRODUCT.md's key for reviewing proposals) takes the focus to the proposals pane from anywhere. */
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loopsPane } from '../../src/ui/panes/loops.js';
import { proposalsPane } from '../../src/ui/panes/proposals.js';
import { tracePane } from '../../src/ui/panes/trace.js';
import { renderApp } from './render-app.js';

afterEach(() => {
  cleanup();
});

const HINTS = 'y accept · n reject · e edit';

describe('the r key', () => {
  it('focuses the proposals pane, whichever pane had the focus', async () => {
    const app = renderApp({ panes: [loopsPane, tracePane, proposalsPane], rows: 40 });
    await vi.waitFor(() => expect(app.frame()).toContain('no proposals yet'));
    expect(app.frame()).not.toContain(HINTS);
    app.stdin.write('\t'); // the trace pane
    app.stdin.write('r');
    await vi.waitFor(() => expect(app.frame()).toContain(HINTS));
    app.expectFramesFit();
  });
});
