/**
 * Short readable lines for an event: the one formatter behind the trace pane, headless progress and
 * `loops trace`. Most events produce no line; the ones a person follows produce one (a model reply
 * up to a few).
 */
import type { LoopEvent } from './events.js';
import { compactJson, firstLine } from './text.js';
import { failureExcerpt } from './verify/failure-excerpt.js';
import { verdictLine } from './verify/verdict.js';

export type EventLineKind = 'model' | 'tool' | 'result' | 'grader' | 'run' | 'human' | 'error';

export interface EventLine {
  kind: EventLineKind;
  text: string;
  ok?: boolean;
}

/** How many lines of a model's text to keep: the gist, not the transcript. */
const MODEL_LINES = 3;

export function describeEvent(event: LoopEvent): EventLine[] {
  const line = (kind: EventLineKind, text: string, ok?: boolean): EventLine => ({
    kind,
    text,
    ...(ok === undefined ? {} : { ok }),
  });
  switch (event.type) {
    case 'run.started':
      return [
        line(
          'run',
          `▶ run ${event.run} started (${event.trigger}) on ${event.branch}` +
            (event.sandbox ? `; sandbox: ${event.sandbox.kind}` : ''),
        ),
      ];
    case 'iteration.started':
      return [line('run', `── iteration ${event.iteration}`)];
    case 'model.response': {
      // A judge's verdict or a memory handoff is not the agent's work: one labelled line each.
      if (event.step === 'summary') return [line('model', `✎ memory handoff: ${firstLine(event.text)}`)];
      if (event.step === 'review') {
        // A judge's verdict is its submit_verdict call; its text, if any, is only commentary.
        const said = verdictLine(event.toolCalls) ?? firstLine(event.text);
        return [line('grader', `⚖ review (${event.model}): ${said}`)];
      }
      const text = event.text
        .split('\n')
        .map((part) => part.trim())
        .filter((part) => part !== '');
      const shown = text.slice(0, MODEL_LINES).map((part) => line('model', part));
      const last = shown[shown.length - 1];
      if (last !== undefined && text.length > MODEL_LINES) last.text = `${last.text} …`;
      return shown;
    }
    case 'tool.call':
      return [line('tool', `→ ${event.name} ${compactJson(event.input)}`)];
    case 'tool.result': {
      // The run tool ends its output with "[exit code N]": say that rather than the output's first line.
      const exit = /\[exit code (\S+)\]$/.exec(event.output.trimEnd());
      // A failing test run opens with the runner's banner; its first failure says more.
      const head = firstLine((event.ok ? undefined : failureExcerpt(event.output)) ?? event.output);
      const status = exit ? `exit ${exit[1]}` : event.ok ? 'ok' : 'error';
      return [line('result', head === '' ? `← ${status}` : `← ${status}: ${head}`, event.ok)];
    }
    case 'grader.result': {
      const mark = event.passed ? '✓' : '✗';
      // A command grader's score is its share of passing tests: the counts say it better.
      const score = event.score === undefined || event.tests ? '' : ` ${event.score.toFixed(2)}`;
      const tests = event.tests ? ` (${event.tests.passed} passed, ${event.tests.failed} failed)` : '';
      const detail =
        event.error !== undefined
          ? `: error: ${firstLine(event.error)}`
          : tests
            ? ''
            : `: ${firstLine(event.feedback)}`;
      return [line('grader', `${mark} ${event.name}${score}${tests}${detail}`, event.passed)];
    }
    case 'instruction.received':
      return [line('human', `${event.mode === 'now' ? '!' : ':'} ${firstLine(event.text)}`)];
    case 'run.paused':
      return [line('run', '⏸ paused')];
    case 'run.resumed':
      return [line('run', '▶ resumed')];
    case 'run.error':
      return [line('error', `${event.kind}: ${firstLine(event.message)}`, false)];
    case 'context.trimmed':
      return [
        line(
          'run',
          `✂ trimmed ${event.trimmed} old tool result(s): ${event.tokensBefore} → ${event.tokensAfter} tokens`,
        ),
      ];
    case 'connector.started':
      return [line('run', `⇄ MCP ${event.server} (${event.transport}): ${event.tools.length} tool(s)`)];
    case 'provider.retry': {
      const status = event.status === undefined ? event.kind : `HTTP ${event.status}`;
      const wait = `${Math.round(event.waitMs / 100) / 10}s`;
      const from = event.waitFrom === 'retry-after' ? ' (retry-after)' : '';
      return [
        line(
          'error',
          `↻ ${event.provider} attempt ${event.attempt} failed (${status}); retrying in ${wait}${from}: ${firstLine(event.reason)}`,
          false,
        ),
      ];
    }
    case 'run.ended':
      return [line('run', `■ ${event.outcome}: ${firstLine(event.reason)}`, event.outcome === 'verified')];
    case 'approval.requested':
      return [line('human', `? approval asked: ${event.matched} (rule ${event.rule})`)];
    case 'approval.resolved':
      return [
        line(
          'human',
          event.approved ? `✓ approved (${event.by})` : `✗ denied (${event.by}): ${firstLine(event.reason)}`,
          event.approved,
        ),
      ];
    case 'stall.detected':
      return [line('error', `⟳ stalled (${event.action}): ${firstLine(event.reason)}`, false)];
    case 'stall.cleared':
      return [line('run', `stall cleared: ${firstLine(event.reason)}`)];
    case 'fleet.status':
      return [
        line(
          event.state === 'released' ? 'run' : 'error',
          `$ fleet: ${firstLine(event.reason)}`,
          event.state === 'released',
        ),
      ];
    case 'notify.sent':
      return [line('run', `→ notified: ${event.about} (HTTP ${event.status})`)];
    case 'notify.failed':
      return [line('error', `→ notification not sent: ${event.about}: ${firstLine(event.reason)}`, false)];
    default:
      // model.delta is skipped on purpose: the response that follows carries the whole text.
      return [];
  }
}

/** Everything an event says, on one line (for logs and headless progress). */
export function describeEventLine(event: LoopEvent): string | undefined {
  const lines = describeEvent(event);
  return lines.length ? lines.map((l) => l.text).join(' ') : undefined;
}
