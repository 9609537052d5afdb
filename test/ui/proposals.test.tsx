/** The proposals pane and its keys against a fake ProposalsPort. */
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProposalAnswer, ProposalsPort, ProposalView } from '../../src/core/proposals.js';
import { loopsPane } from '../../src/ui/panes/loops.js';
import { proposalsPane } from '../../src/ui/panes/proposals.js';
import { loopInfo } from './fake-port.js';
import { renderApp } from './render-app.js';

afterEach(() => {
  cleanup();
});

function proposal(id: string, extra: Partial<ProposalView> = {}): ProposalView {
  return {
    id,
    loop: 'fix-tests',
    status: 'pending',
    file: 'loops/fix-tests/SKILL.md',
    title: 'run the failing test first',
    rationale: 'runs kept editing before reading the failure',
    diff: '--- a/loops/fix-tests/SKILL.md\n+++ b/loops/fix-tests/SKILL.md\n@@ -1,2 +1,2 @@\n-Fix the tests.\n+Run the failing test first, then fix it.\n',
    signatures: [
      {
        key: 'test:sum',
        kind: 'test',
        summary: 'test sum keeps failing',
        count: 3,
        evidence: [{ run: 'r7', seq: 41, excerpt: 'expected 3, got 4' }],
      },
    ],
    evaluation: [
      {
        arm: 'without',
        tasks: 3,
        runs: 3,
        verified: 1,
        rate: 1 / 3,
        iterations: 9,
        usd: 0.3,
        usdPerVerified: 0.3,
        perTask: [],
      },
      {
        arm: 'with',
        tasks: 3,
        runs: 3,
        verified: 3,
        rate: 1,
        iterations: 6,
        usd: 0.2,
        usdPerVerified: 0.0667,
        perTask: [],
      },
    ],
    effect: 'verified 1/3 → 3/3, no task lost',
    createdAt: '2026-01-01T00:00:00.000Z',
    costUsd: 0.05,
    ...extra,
  };
}

class FakeProposals implements ProposalsPort {
  lists = 0;
  accepted: Array<{ id: string; diff?: string }> = [];
  rejected: Array<{ id: string; reason: string }> = [];
  improved: string[] = [];
  constructor(public items: ProposalView[]) {}
  list(): Promise<ProposalView[]> {
    this.lists += 1;
    return Promise.resolve(this.items);
  }
  accept(id: string, options?: { diff?: string }): Promise<ProposalAnswer> {
    this.accepted.push({ id, ...(options?.diff === undefined ? {} : { diff: options.diff }) });
    this.items = this.items.map((p) =>
      p.id === id ? { ...p, status: 'accepted', commit: 'abcdef123456' } : p,
    );
    return Promise.resolve({ ok: true, detail: 'committed on main', commit: 'abcdef123456' });
  }
  reject(id: string, reason: string): Promise<ProposalAnswer> {
    this.rejected.push({ id, reason });
    return Promise.resolve({ ok: true, detail: 'kept for the analyst' });
  }
  improve(loop: string): Promise<ProposalAnswer> {
    this.improved.push(loop);
    return Promise.resolve({ ok: false, reason: 'fewer than 3 runs to learn from' });
  }
}

const panes = [loopsPane, proposalsPane];

async function focusProposals(app: ReturnType<typeof renderApp>): Promise<void> {
  // tab cycles every registered pane; the proposals pane is the last.
  for (let i = 0; i < 5; i++) app.stdin.write('\t');
  await vi.waitFor(() => expect(app.frame()).toContain('y accept · n reject · e edit'));
}

describe('proposals pane', () => {
  it('says there are no proposals without a port', async () => {
    const app = renderApp({ panes, rows: 40 });
    await vi.waitFor(() => expect(app.frame()).toContain('no proposals yet'));
    app.expectFramesFit();
  });

  it('lists pending first with the diff beside the evaluation, and the evidence', async () => {
    const port = new FakeProposals([
      proposal('p2'),
      proposal('p1', { status: 'accepted', commit: 'abcdef123456' }),
    ]);
    const app = renderApp({ panes, rows: 40, columns: 140, proposals: port });
    await vi.waitFor(() => expect(app.frame()).toContain('proposals · 1 pending of 2'));
    const frame = app.frame();
    expect(frame).toMatch(/› pending\s+fix-tests\s+loops\/fix-tests\/SKILL\.md — run the failing test first/);
    expect(frame).toMatch(/ {2}accepted\s+fix-tests/);
    // Side by side: a diff line and an evaluation row on one screen line.
    expect(frame).toMatch(/--- a\/loops\/fix-tests\/SKILL\.md\s+arm\s+verified/);
    expect(frame).toMatch(/@@ -1,2 \+1,2 @@\s+with\s+3\/3\s+100%/);
    expect(frame).toMatch(
      /\+Run the failing test first, then fix it\.\s+analysis and evaluation cost \$0\.050/,
    );
    expect(frame).toContain('verified 1/3 → 3/3, no task lost');
    expect(frame).toContain('✗ test sum keeps failing ×3 (run r7 #41: expected 3, got 4)');
    app.expectFramesFit();
  });

  it('never shows a regressed, rejected or superseded proposal, nor selects one when none is pending', async () => {
    const port = new FakeProposals([
      proposal('p3', { status: 'regressed', title: 'a change that measured worse' }),
      proposal('p2', { status: 'rejected', title: 'a change a person refused' }),
      proposal('p1', { status: 'superseded', title: 'a change to an old text' }),
    ]);
    const app = renderApp({ panes, rows: 40, columns: 140, proposals: port });
    await vi.waitFor(() => expect(port.lists).toBeGreaterThan(0));
    await vi.waitFor(() => expect(app.frame()).toContain('no proposals yet'));
    const frame = app.frame();
    expect(frame).not.toContain('regressed');
    expect(frame).not.toContain('measured worse');
    expect(frame).not.toContain('a person refused');
    expect(frame).not.toContain('an old text');
    app.expectFramesFit();
  });

  it('stacks the evaluation above the diff when narrow', async () => {
    const port = new FakeProposals([proposal('p1')]);
    const app = renderApp({ panes, rows: 40, columns: 80, proposals: port });
    await vi.waitFor(() => expect(app.frame()).toContain('-Fix the tests.'));
    const lines = app.frame().split('\n');
    const evalRow = lines.findIndex((l) => /with\s+3\/3/.test(l));
    const diffRow = lines.findIndex((l) => l.includes('-Fix the tests.'));
    expect(evalRow).toBeGreaterThan(0);
    expect(diffRow).toBeGreaterThan(evalRow);
    expect(lines[diffRow]).not.toMatch(/without/);
    app.expectFramesFit();
  });

  it('y accepts the selected proposal and shows the commit; a decided one cannot be answered again', async () => {
    const port = new FakeProposals([proposal('p1')]);
    const app = renderApp({ panes, rows: 40, proposals: port });
    await focusProposals(app);
    app.stdin.write('y');
    await vi.waitFor(() =>
      expect(app.frame()).toContain(
        'accepted loops/fix-tests/SKILL.md for fix-tests: committed on main (commit abcdef12)',
      ),
    );
    expect(port.accepted).toEqual([{ id: 'p1' }]);
    await vi.waitFor(() => expect(app.frame()).toMatch(/› accepted/));
    app.stdin.write('y');
    await vi.waitFor(() => expect(app.frame()).toContain('that proposal is accepted'));
    expect(port.accepted).toHaveLength(1);
  });

  it('n asks for a reason and rejects with it; esc and an empty reason reject nothing', async () => {
    const port = new FakeProposals([proposal('p1'), proposal('p2', { title: 'second idea' })]);
    const app = renderApp({ panes, rows: 40, proposals: port });
    await focusProposals(app);
    app.stdin.write('j');
    await vi.waitFor(() => expect(app.frame()).toMatch(/› pending.*second idea/));
    app.stdin.write('n');
    await vi.waitFor(() =>
      expect(app.frame()).toContain('reject the proposal for loops/fix-tests/SKILL.md, reason'),
    );
    app.stdin.write('\x1b');
    await vi.waitFor(() => expect(app.frame()).toContain('nothing was rejected'));
    app.stdin.write('n');
    await vi.waitFor(() => expect(app.frame()).toContain('reason ›'));
    app.stdin.write('\r');
    await vi.waitFor(() => expect(app.frame()).toContain('not rejected: a reason is needed'));
    app.stdin.write('n');
    await vi.waitFor(() => expect(app.frame()).toContain('reason ›'));
    app.stdin.write('the skill already says so\r');
    await vi.waitFor(() =>
      expect(port.rejected).toEqual([{ id: 'p2', reason: 'the skill already says so' }]),
    );
    await vi.waitFor(() =>
      expect(app.frame()).toContain('rejected loops/fix-tests/SKILL.md for fix-tests: kept for the analyst'),
    );
  });

  it('e edits the diff first and accepts the edited one; a cancelled edit accepts nothing', async () => {
    const port = new FakeProposals([proposal('p1')]);
    const edits: string[] = [];
    let answer: string | undefined = '+an edited line\n';
    const edit = (text: string, name: string): Promise<string | undefined> => {
      edits.push(`${name}:${text.length}`);
      return Promise.resolve(answer);
    };
    const app = renderApp({ panes, rows: 40, proposals: port, edit });
    await focusProposals(app);
    answer = undefined;
    app.stdin.write('e');
    await vi.waitFor(() => expect(app.frame()).toContain('nothing accepted'));
    expect(port.accepted).toEqual([]);
    answer = '+an edited line\n';
    app.stdin.write('e');
    await vi.waitFor(() => expect(port.accepted).toEqual([{ id: 'p1', diff: '+an edited line\n' }]));
    expect(edits).toEqual([`p1.diff:${proposal('p1').diff.length}`, `p1.diff:${proposal('p1').diff.length}`]);
    await vi.waitFor(() => expect(app.frame()).toContain('accepted (edited)'));
  });

  it('h on the loops pane asks to improve the selected loop and shows the answer', async () => {
    const port = new FakeProposals([]);
    const app = renderApp({ panes, rows: 40, proposals: port, infos: [loopInfo('a'), loopInfo('b')] });
    await vi.waitFor(() => expect(app.frame()).toContain('h on the loops pane asks for one'));
    app.stdin.write('j');
    app.stdin.write('h');
    await vi.waitFor(() => expect(app.frame()).toContain('not improving b: fewer than 3 runs to learn from'));
    expect(port.improved).toEqual(['b']);
  });

  it('reads the list again when hill-climbing says a proposal changed', async () => {
    const port = new FakeProposals([]);
    const app = renderApp({ panes, rows: 40, proposals: port });
    await vi.waitFor(() => expect(app.frame()).toContain('no proposals yet'));
    port.items = [proposal('p9', { title: 'a new idea' })];
    app.emit({
      source: 'hillclimb',
      loop: 'fix-tests',
      run: 'hillclimb',
      iteration: 0,
      time: '2026-01-01T00:00:00.000Z',
      seq: 1,
      span: 'h.1',
      type: 'proposal.changed',
      id: 'p9',
      status: 'pending',
      file: 'loops/fix-tests/SKILL.md',
      reason: 'evaluated',
    });
    await vi.waitFor(() => expect(app.frame()).toContain('a new idea'));
  });
});
