/**
 * Errors, classified and recognised when they come back. Each error gets a signature (its class and a
 * hash of its message with numbers, paths and hex ids stripped), so the same failure seen again, in
 * this run or an earlier one, is marked repeated: a loop that keeps hitting the same error is not
 * making progress. Seen signatures persist in state/<loop>/errors.json.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ErrorClass, EventBase, EventOf, GraderVerdict, LoopEvent } from '../events.js';
import { writeFileAtomic } from '../../state/atomic.js';
import { isNotFound } from '../../state/errno.js';
import type { StatePaths } from '../../state/paths.js';
import { firstLine } from '../text.js';
import { failureExcerpt } from './failure-excerpt.js';
import { isMalformedVerdictError } from './verdict.js';

type ErrorBody = Omit<EventOf<'error.recorded'>, keyof EventBase>;

const ERROR_CLASSES = [
  'tool_failure',
  'malformed_output',
  'provider_error',
  'grader_failure',
  'grader_regression',
] as const satisfies readonly ErrorClass[];

const seenSchema = z.object({
  class: z.enum(ERROR_CLASSES),
  count: z.number().int().nonnegative(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  /** A short example of the message (never a holdout grader's findings). */
  sample: z.string(),
});

const errorsFileSchema = z.object({
  version: z.literal(1),
  signatures: z.record(z.string(), seenSchema),
});

type Seen = z.output<typeof seenSchema>;
type ErrorsFile = z.output<typeof errorsFileSchema>;

/** Signatures kept in errors.json; the least recently seen go first. */
const MAX_SIGNATURES = 500;
const MESSAGE_CHARS = 300;

export function errorsPath(paths: StatePaths, loop: string): string {
  return path.join(paths.loopDir(loop), 'errors.json');
}

/** The message with what varies between occurrences of the same error taken out. */
export function normaliseMessage(message: string): string {
  return message
    .toLowerCase()
    .replace(/\b[0-9a-f]{7,}\b/g, '<hex>')
    .replace(/(?:[a-z]:)?(?:[\w.@~-]*\/)+[\w.@~-]*/g, '<path>')
    .replace(/\d+(?:\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 4_000);
}

export function errorSignature(cls: ErrorClass, message: string): string {
  const hash = createHash('sha256').update(normaliseMessage(message)).digest('hex').slice(0, 12);
  return `${cls}:${hash}`;
}

/** A grader's failure as a signature source: the findings, without the lines that only count. */
function graderFailureText(verdict: GraderVerdict): string {
  if (verdict.error !== undefined) return verdict.error;
  return verdict.feedback
    .split('\n')
    .filter((line) => !/^(tests: |\$ )/.test(line))
    .join('\n');
}

function short(text: string): string {
  const line = firstLine(text);
  return line.length > MESSAGE_CHARS ? `${line.slice(0, MESSAGE_CHARS - 1)}…` : line;
}

/** Writes to one errors.json are serialised within the process (concurrent runs of one loop). */
const writeChains = new Map<string, Promise<void>>();

export class ErrorTracker {
  private readonly pending = new Map<string, Seen>();
  private readonly repeatedByIteration = new Map<number, Map<ErrorClass, number>>();

  private constructor(
    private readonly file: string,
    private readonly seen: Map<string, Seen>,
    private readonly now: () => Date,
  ) {}

  static async open(file: string, now: () => Date = () => new Date()): Promise<ErrorTracker> {
    return new ErrorTracker(file, new Map(Object.entries((await readErrorsFile(file)).signatures)), now);
  }

  /** Records one error; the body of its `error.recorded` event. */
  record(cls: ErrorClass, message: string, iteration: number, signatureText = message): ErrorBody {
    const signature = errorSignature(cls, signatureText);
    const time = this.now().toISOString();
    const before = this.seen.get(signature);
    const count = (before?.count ?? 0) + 1;
    const sample = short(message);
    this.seen.set(signature, {
      class: cls,
      count,
      firstSeen: before?.firstSeen ?? time,
      lastSeen: time,
      sample,
    });
    const delta = this.pending.get(signature);
    this.pending.set(signature, {
      class: cls,
      count: (delta?.count ?? 0) + 1,
      firstSeen: delta?.firstSeen ?? time,
      lastSeen: time,
      sample,
    });
    const repeated = before !== undefined;
    if (repeated) {
      const classes = this.repeatedByIteration.get(iteration) ?? new Map<ErrorClass, number>();
      classes.set(cls, (classes.get(cls) ?? 0) + 1);
      this.repeatedByIteration.set(iteration, classes);
    }
    return { type: 'error.recorded', class: cls, signature, message: sample, repeated, count };
  }

  /** The errors an event reports (tool failures, provider errors, regressions); none for most events. */
  observe(event: LoopEvent): ErrorBody[] {
    switch (event.type) {
      case 'tool.result': {
        if (event.ok) return [];
        const malformed = /^(invalid input for |unknown tool )/.test(event.output);
        // A failing test run's first line is the runner's banner; what failed is the signature.
        const failing = failureExcerpt(event.output) ?? event.output;
        const message = `${event.name}: ${firstLine(failing)}`;
        const cls = malformed ? 'malformed_output' : 'tool_failure';
        return [this.record(cls, message, event.iteration, `${event.name}\n${failing}`)];
      }
      case 'run.error': {
        if (!event.kind.startsWith('provider.')) return [];
        const cls: ErrorClass = event.kind === 'provider.malformed' ? 'malformed_output' : 'provider_error';
        return [this.record(cls, `${event.kind}: ${event.message}`, event.iteration)];
      }
      case 'grader.regression':
        return [
          this.record(
            'grader_regression',
            `${event.grader} regressed: it passed on iteration ${event.passedAt} and fails now`,
            event.iteration,
            `${event.grader} regressed`,
          ),
        ];
      default:
        return [];
    }
  }

  /** A failing grader: a grader failure, or malformed output when a judge's verdict was unreadable. */
  recordGrader(verdict: GraderVerdict, holdout: boolean, iteration: number): ErrorBody {
    const cls: ErrorClass =
      verdict.error !== undefined && isMalformedVerdictError(verdict.error)
        ? 'malformed_output'
        : 'grader_failure';
    const text = graderFailureText(verdict);
    // A holdout grader's findings stay out of state and events that could reach the agent's world.
    const message = holdout
      ? `holdout grader "${verdict.name}" failed`
      : `${verdict.name}: ${firstLine(verdict.error ?? text) || 'failed'}`;
    return this.record(cls, message, iteration, `${verdict.name}\n${text}`);
  }

  /** For MEMORY.md's progress line: the classes seen again this iteration, or ''. */
  repeatedNote(iteration: number): string {
    const classes = this.repeatedByIteration.get(iteration);
    if (!classes || classes.size === 0) return '';
    const parts = [...classes].map(([cls, n]) => (n > 1 ? `${cls} ×${n}` : cls));
    return `repeated errors: ${parts.join(', ')}`;
  }

  /** Adds this run's new sightings to errors.json (merged with what other runs wrote meanwhile). */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const delta = new Map(this.pending);
    this.pending.clear();
    const previous = writeChains.get(this.file) ?? Promise.resolve();
    const next = previous.then(() => mergeInto(this.file, delta));
    writeChains.set(
      this.file,
      next.catch(() => undefined),
    );
    await next;
  }
}

async function readErrorsFile(file: string): Promise<ErrorsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return { version: 1, signatures: {} };
    throw error;
  }
  try {
    const parsed = errorsFileSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: handled below like any other damage.
  }
  // A damaged errors.json only loses the memory of which errors were seen; it is rebuilt.
  return { version: 1, signatures: {} };
}

async function mergeInto(file: string, delta: ReadonlyMap<string, Seen>): Promise<void> {
  const current = await readErrorsFile(file);
  for (const [signature, seen] of delta) {
    const before = current.signatures[signature];
    current.signatures[signature] = {
      class: seen.class,
      count: (before?.count ?? 0) + seen.count,
      firstSeen: before?.firstSeen ?? seen.firstSeen,
      lastSeen: seen.lastSeen,
      sample: seen.sample,
    };
  }
  const entries = Object.entries(current.signatures)
    .sort(([, a], [, b]) => b.lastSeen.localeCompare(a.lastSeen))
    .slice(0, MAX_SIGNATURES);
  await writeFileAtomic(
    file,
    `${JSON.stringify({ version: 1, signatures: Object.fromEntries(entries) }, null, 2)}\n`,
  );
}
