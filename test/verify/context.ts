/**
 * Grade contexts for grader tests. By default model calls and sub-agents are refused (a grader that
 * needs one must be given one), events are collected, and the definition is a minimal loop.
 */
import path from 'node:path';
import { loopFrontMatterSchema, type LoopDefinition } from '../../src/core/definition/schema.js';
import type { LoopEventBody } from '../../src/core/events.js';
import type { GradeContext } from '../../src/core/verify/grader.js';
import type { Worktrees } from '../../src/workspace/worktrees.js';

export function testDefinition(overrides: Partial<LoopDefinition> = {}, front: object = {}): LoopDefinition {
  const parsed = loopFrontMatterSchema.parse({ name: 'test-loop', ...front });
  return {
    ...parsed,
    model: 'agent-model',
    task: 'the task',
    dir: path.join('/nonexistent', 'loops', parsed.name),
    file: path.join('/nonexistent', 'loops', parsed.name, 'LOOP.md'),
    skills: [],
    ...overrides,
  };
}

export function gradeContext(
  worktree: string,
  extra: Partial<GradeContext> = {},
): GradeContext & { events: LoopEventBody[] } {
  const events: LoopEventBody[] = [];
  return {
    worktree,
    baseSha: 'HEAD',
    loop: 'test-loop',
    run: 'run-1',
    iteration: 1,
    task: 'the task',
    definition: testDefinition(),
    transcript: [],
    callModel: () => Promise.reject(new Error('this grader was not expected to call a model')),
    runSubAgent: () => Promise.reject(new Error('this grader was not expected to run a sub-agent')),
    emit: (body) => events.push(body),
    resultsPath: path.join(worktree, '.results-not-expected.tsv'),
    worktrees: undefined as unknown as Worktrees,
    ...extra,
    events,
  };
}
