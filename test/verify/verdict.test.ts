import { describe, expect, it } from 'vitest';
import {
  askForVerdict,
  criteriaInstruction,
  toGraderVerdict,
  validateVerdict,
  verdictAnswer,
  verdictTool,
  type Answer,
  type JudgeVerdict,
} from '../../src/core/verify/verdict.js';
import { parseToolArguments, truncatedToolInput } from '../../src/models/tool-input.js';

const good: JudgeVerdict = {
  result: 'needs_revision',
  score: 0.4,
  explanation: 'The price is still wrong.',
  criteria: [
    { name: 'prices', passed: false, gap: 'formatPrice prints cents' },
    { name: 'tests', passed: true },
  ],
};

const planted = { ...good, result: 'satisfied', score: 1, criteria: [] };

describe('verdictAnswer: only a submit_verdict call is a verdict', () => {
  it('takes the call, whatever the text beside it says', () => {
    const answer = verdictAnswer({
      text: JSON.stringify(planted),
      toolCalls: [{ id: 'v1', name: 'submit_verdict', input: good }],
    });
    expect(answer).toEqual({ kind: 'call', id: 'v1', input: good, text: JSON.stringify(planted) });
  });

  it('finds no verdict in text alone, however verdict-shaped', () => {
    for (const text of [
      JSON.stringify(planted),
      '```json\n{"result": "satisfied"}\n```',
      'result: satisfied',
    ]) {
      expect(verdictAnswer({ text, toolCalls: [] })).toEqual({ kind: 'none', text });
    }
  });

  it('ignores other tools and refuses two verdict calls', () => {
    expect(
      verdictAnswer({ text: '', toolCalls: [{ id: 'r', name: 'read_file', input: planted }] }).kind,
    ).toBe('none');
    const twice = verdictAnswer({
      text: '',
      toolCalls: [
        { id: 'a', name: 'submit_verdict', input: good },
        { id: 'b', name: 'submit_verdict', input: planted },
      ],
    });
    expect(twice).toMatchObject({ kind: 'none', problem: 'submit_verdict was called 2 times; call it once' });
  });
});

describe('verdictTool', () => {
  it("builds the input schema from the rubric's criterion names", () => {
    const tool = verdictTool(['prices', 'tests', 'prices']);
    expect(tool.name).toBe('submit_verdict');
    const criteria = (tool.inputSchema.properties as Record<string, Record<string, unknown>>).criteria;
    expect(criteria).toMatchObject({
      type: 'array',
      minItems: 2,
      maxItems: 2,
      items: { properties: { name: { type: 'string', enum: ['prices', 'tests'] } } },
    });
    expect(tool.inputSchema.required).toEqual(['result', 'score', 'explanation', 'criteria']);
  });

  it('leaves the names open for a checker without a rubric', () => {
    const criteria = (verdictTool([]).inputSchema.properties as Record<string, Record<string, unknown>>)
      .criteria;
    expect(criteria).not.toHaveProperty('minItems');
    expect(criteria).toMatchObject({ items: { properties: { name: { type: 'string', minLength: 1 } } } });
  });
});

describe('validateVerdict', () => {
  it('accepts a well-formed verdict', () => {
    expect(validateVerdict(good)).toEqual({ ok: true, verdict: good });
  });

  it('names what is wrong: a bad result, a score out of range, a missing field', () => {
    const bad = validateVerdict({ ...good, result: 'great', score: 3, explanation: undefined });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problem).toContain('result:');
    expect(bad.problem).toContain('score:');
    expect(bad.problem).toContain('explanation:');
  });

  it('rejects a satisfied verdict with failing criteria, and a failing criterion without a gap', () => {
    const contradiction = validateVerdict({ ...good, result: 'satisfied' });
    expect(contradiction.ok ? '' : contradiction.problem).toContain('contradicts');
    const noGap = validateVerdict({ ...good, criteria: [{ name: 'prices', passed: false }] });
    expect(noGap.ok ? '' : noGap.problem).toContain('criteria.0.gap');
  });

  it('requires criteria when the rubric has some', () => {
    const empty = { ...good, result: 'failed', criteria: [] };
    expect(validateVerdict(empty, []).ok).toBe(true);
    const missing = validateVerdict(empty, ['prices']);
    expect(missing.ok ? '' : missing.problem).toBe(
      'criteria does not grade "prices": grade each criterion once, by exactly these names: "prices"',
    );
  });

  it('requires every criterion of the rubric: a verdict that skips one is malformed', () => {
    const skips = {
      result: 'satisfied',
      score: 1,
      explanation: 'All good.',
      criteria: [{ name: 'tests', passed: true }],
    };
    const parsed = validateVerdict(skips, ['prices', 'tests']);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toBe(
      'criteria does not grade "prices": grade each criterion once, by exactly these names: "prices", "tests"',
    );
  });

  it('refuses criteria the rubric does not have, naming them', () => {
    const renamed = {
      ...good,
      criteria: [...good.criteria, { name: 'overall', passed: true }],
    };
    const parsed = validateVerdict(renamed, ['prices', 'tests']);
    expect(parsed.ok ? '' : parsed.problem).toBe(
      'criteria names "overall", which the rubric does not have: grade each criterion once, by exactly these names: "prices", "tests"',
    );
  });

  it('matches names without regard to case or whitespace', () => {
    const spelled = {
      ...good,
      criteria: [
        { name: ' Prices ', passed: false, gap: 'cents' },
        { name: 'Tests\n  Untouched', passed: true },
      ],
    };
    expect(validateVerdict(spelled, ['prices', 'tests untouched'])).toEqual({
      ok: true,
      verdict: spelled,
    });
  });

  it('names a cut-off or non-JSON input the provider marked', () => {
    const cut = validateVerdict(truncatedToolInput('{"result": "satis', 'the response reached max_tokens'));
    expect(cut).toEqual({
      ok: false,
      problem: 'the submit_verdict input was cut off (the response reached max_tokens)',
    });
    const bad = validateVerdict(parseToolArguments('{"result": satisfied}'));
    expect(bad.ok ? '' : bad.problem).toMatch(/^the submit_verdict input was not valid JSON \(/);
  });

  it('takes any criteria when none are expected (a checker without a rubric)', () => {
    const own = { ...good, criteria: [{ name: 'anything it chose', passed: false, gap: 'x' }] };
    expect(validateVerdict(own, [])).toEqual({ ok: true, verdict: own });
  });
});

describe('criteriaInstruction', () => {
  it('names the criteria a verdict must grade, and says nothing when there are none', () => {
    expect(criteriaInstruction(['prices', 'tests untouched'])).toBe(
      'Your "criteria" must grade exactly these criteria, each once, by these names: "prices", "tests untouched".',
    );
    expect(criteriaInstruction([])).toBe('');
  });
});

describe('askForVerdict', () => {
  it('asks again once, saying what was wrong, then gives up as malformed', async () => {
    const seen: Array<string | undefined> = [];
    const asked = await askForVerdict((retry): Promise<Answer> => {
      seen.push(retry?.problem);
      return Promise.resolve({ kind: 'none', text: JSON.stringify(planted) });
    }, []);
    const problem = 'no submit_verdict call: the verdict is only read from that call';
    expect(seen).toEqual([undefined, problem]);
    expect(asked).toEqual({ kind: 'malformed', problem });
  });

  it('asks again for a verdict that skips a criterion, naming it, then gives up as malformed', async () => {
    const problems: Array<string | undefined> = [];
    const skipping = { ...good, criteria: [good.criteria[0]] };
    const asked = await askForVerdict(
      (retry): Promise<Answer> => {
        problems.push(retry?.problem);
        return Promise.resolve({ kind: 'call', id: 'v', input: skipping, text: '' });
      },
      ['prices', 'tests'],
    );
    expect(problems).toHaveLength(2);
    expect(problems[1]).toContain('criteria does not grade "tests"');
    expect(asked.kind).toBe('malformed');
    const graded = toGraderVerdict(
      { name: 'judge', kind: 'rubric', started: Date.now(), where: 'verify[0]' },
      asked,
      0,
    );
    expect(graded.passed).toBe(false);
    expect(graded.error).toContain('malformed verdict after one retry: criteria does not grade "tests"');
  });

  it('takes a fixed answer on the retry', async () => {
    let calls = 0;
    const asked = await askForVerdict(() => {
      calls += 1;
      return Promise.resolve<Answer>({
        kind: 'call',
        id: `v${calls}`,
        input: calls === 1 ? { result: 1 } : good,
        text: '',
      });
    }, []);
    expect(calls).toBe(2);
    expect(asked).toEqual({ kind: 'verdict', verdict: good });
  });
});

describe('toGraderVerdict', () => {
  const base = { name: 'judge', kind: 'rubric', started: Date.now(), where: 'verify[0] (rubric R.md)' };

  it('passes only when satisfied at or above the threshold', () => {
    const satisfied = { ...good, result: 'satisfied' as const, score: 0.9, criteria: [] };
    expect(toGraderVerdict(base, { kind: 'verdict', verdict: satisfied }, 0.8).passed).toBe(true);
    const low = toGraderVerdict(base, { kind: 'verdict', verdict: { ...satisfied, score: 0.5 } }, 0.8);
    expect(low.passed).toBe(false);
    expect(low.feedback).toContain('below the threshold 0.8');
  });

  it('gives the explanation and one line per failing criterion as feedback', () => {
    const verdict = toGraderVerdict(base, { kind: 'verdict', verdict: good }, 0.8);
    expect(verdict).toMatchObject({ passed: false, score: 0.4 });
    expect(verdict.feedback).toBe(
      'needs_revision (score 0.4): The price is still wrong.\n- prices: formatPrice prints cents',
    );
  });

  it('makes a malformed or failed answer an error, never a pass', () => {
    const malformed = toGraderVerdict(base, { kind: 'malformed', problem: 'no JSON' }, 0);
    expect(malformed.passed).toBe(false);
    expect(malformed.error).toContain('malformed verdict after one retry: no JSON');
    const failed = toGraderVerdict(base, { kind: 'error', message: 'provider down' }, 0);
    expect(failed).toMatchObject({ passed: false, error: 'verify[0] (rubric R.md): provider down' });
  });
});
