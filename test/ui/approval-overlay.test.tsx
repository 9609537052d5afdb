import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { argumentRows } from '../../src/ui/overlays/approval.js';
import { approvalRequested, runEvents, started } from './fake-port.js';
import { renderApp } from './render-app.js';

afterEach(() => {
  cleanup();
});

const COLUMNS = 60;

describe('the approval overlay counts screen rows, not argument lines', () => {
  it('cuts one very long argument into rows and says how many rows it could not show', async () => {
    const command = `echo ${'x'.repeat(3000)} END`;
    const app = renderApp({ rows: 24, columns: COLUMNS });
    const e = runEvents('bench', 'r1');
    app.emit(e(started()), e(approvalRequested('ap-1', command)));
    await vi.waitFor(() => expect(app.frame()).toMatch(/… \d+ more lines/));
    const lines = app.frame().split('\n');
    const rule = lines.findIndex((line) => line.includes('rule run:git push*'));
    const more = lines.findIndex((line) => /… \d+ more lines/.test(line));
    const hidden = Number(/… (\d+) more lines/.exec(lines[more] ?? '')?.[1]);
    // Borders 2 and padding 2: what is shown plus what is counted is every row of the arguments.
    const total = argumentRows({ command }, COLUMNS - 4).length;
    expect(total).toBeGreaterThan(50);
    expect(more - rule - 1 + hidden).toBe(total);
    expect(app.frame()).not.toContain('END');
    // The keys still show below the cut, and no frame is taller than the terminal.
    expect(app.frame()).toContain('deny with a reason');
    app.expectFramesFit();
  });

  it('shows a short call whole, with no mark', async () => {
    const app = renderApp({ rows: 24, columns: COLUMNS });
    const e = runEvents('bench', 'r1');
    app.emit(e(started()), e(approvalRequested('ap-1', 'git push origin main')));
    await vi.waitFor(() => expect(app.frame()).toContain('"command": "git push origin main"'));
    expect(app.frame()).not.toContain('more lines');
  });
});
