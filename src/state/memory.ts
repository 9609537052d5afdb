/**
 * MEMORY.md: the working memory carried between iterations and runs (state/<loop>/MEMORY.md).
 *
 * Markdown a person can read and edit, with fixed sections. It is rewritten after every iteration and
 * must stay under a byte cap, because it is sent to the model each time: the oldest progress goes
 * first, then the last feedback, then the handoff, then notes; the goal and the human corrections are
 * kept longest.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { isNotFound } from './errno.js';

export interface MemoryDoc {
  goal: string;
  /** One entry per iteration, newest last. */
  progress: string[];
  /**
   * The last iteration's transcript folded into a handoff for the next one (goal, progress and
   * decisions, constraints, next steps, key data). Replaced each iteration; a section of its own so a
   * person's notes are never overwritten by it. Absent in documents written before it existed.
   */
  handoff?: string;
  lastFeedback: string;
  corrections: string[];
  notes: string;
}

type Field = keyof MemoryDoc;

const SECTIONS: ReadonlyArray<{ field: Field; title: string; aliases: readonly string[] }> = [
  { field: 'goal', title: 'Goal', aliases: ['goal'] },
  { field: 'progress', title: 'Progress', aliases: ['progress'] },
  { field: 'handoff', title: 'Handoff', aliases: ['handoff'] },
  { field: 'lastFeedback', title: 'Last feedback', aliases: ['last feedback', 'feedback'] },
  { field: 'corrections', title: 'Human corrections', aliases: ['human corrections', 'corrections'] },
  { field: 'notes', title: 'Notes', aliases: ['notes'] },
];

const TITLE = '# Memory';
const NONE = '_(none)_';
/** Never cut below these, whatever the cap: a loop that forgets its goal or a person's correction misbehaves. */
const MIN_GOAL_BYTES = 1024;
const MIN_CORRECTIONS = 3;
const CUT_MARK = ' … (cut to fit the memory size cap)';
const CUT_ALL = '(cut to fit the memory size cap)';

const FOLDED = /^\((\d+) earlier (iterations?|corrections?) folded\)$/;

function foldMarker(count: number, what: 'iteration' | 'correction'): string {
  return `(${count} earlier ${what}${count === 1 ? '' : 's'} folded)`;
}

/** Splits off a leading fold marker, so folding again adds to its count instead of nesting markers. */
function splitFolded(items: string[]): { folded: number; items: string[] } {
  const match = items[0] === undefined ? null : FOLDED.exec(items[0]);
  if (!match) return { folded: 0, items };
  return { folded: Number(match[1]), items: items.slice(1) };
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The longest prefix of `text` within `maxBytes` bytes of UTF-8, never splitting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end--;
  return buffer.subarray(0, end).toString('utf8');
}

/**
 * `text` cut to about `target` bytes, saying so. Never below `floor` bytes, and never longer than it was:
 * with no floor, a text that cannot keep anything useful is replaced by a note that it was cut.
 */
function cutText(text: string, target: number, floor = 0): string {
  const size = bytes(text);
  if (size <= target || size <= floor) return text;
  const keep = Math.max(target - bytes(CUT_MARK), floor);
  if (keep > 0) {
    const cut = truncateUtf8(text, keep).trimEnd() + CUT_MARK;
    if (bytes(cut) < size) return cut;
  }
  if (floor > 0) return text;
  return bytes(CUT_ALL) < size ? CUT_ALL : '';
}

interface Parts {
  goal: string;
  progress: string[];
  progressFolded: number;
  handoff: string;
  lastFeedback: string;
  corrections: string[];
  correctionsFolded: number;
  notes: string;
}

function compose(p: Parts): string {
  const progress = p.progressFolded > 0 ? [foldMarker(p.progressFolded, 'iteration'), ...p.progress] : p.progress;
  const corrections =
    p.correctionsFolded > 0 ? [foldMarker(p.correctionsFolded, 'correction'), ...p.corrections] : p.corrections;
  const bodies: Record<Field, string> = {
    goal: textBlock(p.goal),
    progress: listBlock(progress),
    handoff: textBlock(p.handoff),
    lastFeedback: textBlock(p.lastFeedback),
    corrections: listBlock(corrections),
    notes: textBlock(p.notes),
  };
  // The handoff section appears only once there is one, so memory written without it reads the same.
  const shown = SECTIONS.filter(({ field }) => field !== 'handoff' || p.handoff !== '');
  const sections = shown.map(({ field, title }) => `## ${title}\n\n${bodies[field]}\n`);
  return `${TITLE}\n\n${sections.join('\n')}`;
}

// A line that would read back as one of our headings is escaped with a backslash, so feedback quoting
// "## Notes" stays feedback. Lines already starting with backslashes before a heading get one more.
function escapeLine(line: string): string {
  return sectionOf(line.replace(/^\\+/, '')) === undefined ? line : `\\${line}`;
}

function unescapeLine(line: string): string {
  return line.startsWith('\\') && sectionOf(line.replace(/^\\+/, '')) !== undefined ? line.slice(1) : line;
}

function textBlock(text: string): string {
  return text === '' ? NONE : text.split('\n').map(escapeLine).join('\n');
}

function listBlock(items: string[]): string {
  if (items.length === 0) return NONE;
  return items
    .map((item) => {
      const [first = '', ...rest] = item.split('\n');
      return [`- ${first}`, ...rest.map((line) => (line === '' ? '' : `  ${line}`))].join('\n');
    })
    .join('\n');
}

function normalise(doc: MemoryDoc): Required<MemoryDoc> {
  const text = (value: string): string => value.replace(/\r\n?/g, '\n').trim();
  const list = (values: string[]): string[] => values.map(text).filter((value) => value !== '');
  return {
    goal: text(doc.goal),
    progress: list(doc.progress),
    handoff: text(doc.handoff ?? ''),
    lastFeedback: text(doc.lastFeedback),
    corrections: list(doc.corrections),
    notes: text(doc.notes),
  };
}

/**
 * The document as markdown, at most `maxBytes` bytes of UTF-8. Only when the goal and human
 * corrections at their minimum (1 KiB of goal, the newest 3 corrections) exceed the cap on their own
 * is the result larger.
 */
export function renderMemory(doc: MemoryDoc, maxBytes: number): string {
  if (!(maxBytes > 0)) throw new RangeError(`memory size cap must be a positive number of bytes, not ${maxBytes}`);
  const clean = normalise(doc);
  const progress = splitFolded(clean.progress);
  const corrections = splitFolded(clean.corrections);
  const parts: Parts = {
    goal: clean.goal,
    progress: progress.items,
    progressFolded: progress.folded,
    handoff: clean.handoff,
    lastFeedback: clean.lastFeedback,
    corrections: corrections.items,
    correctionsFolded: corrections.folded,
    notes: clean.notes,
  };
  const over = (): number => bytes(compose(parts)) - maxBytes;

  if (over() > 0) foldProgress(parts, maxBytes);
  if (over() > 0) parts.lastFeedback = cutText(parts.lastFeedback, bytes(parts.lastFeedback) - over());
  if (over() > 0) parts.handoff = cutText(parts.handoff, bytes(parts.handoff) - over());
  if (over() > 0) parts.notes = cutText(parts.notes, bytes(parts.notes) - over());
  while (over() > 0 && parts.corrections.length > MIN_CORRECTIONS) {
    parts.corrections = parts.corrections.slice(1);
    parts.correctionsFolded++;
  }
  if (over() > 0) parts.goal = cutText(parts.goal, bytes(parts.goal) - over(), MIN_GOAL_BYTES);
  return compose(parts);
}

/** Drops the fewest oldest progress entries that bring the document under the cap (all of them if need be). */
function foldProgress(parts: Parts, maxBytes: number): void {
  const items = parts.progress;
  const itemBytes = items.map((item) => bytes(listBlock([item])));
  const withoutProgress = bytes(compose({ ...parts, progress: [], progressFolded: 0 })) - bytes(NONE);
  let rest = itemBytes.reduce((sum, n) => sum + n + 1, 0); // each entry and its newline
  for (let drop = 0; drop <= items.length; drop++) {
    const folded = parts.progressFolded + drop;
    const marker = folded > 0 ? bytes(listBlock([foldMarker(folded, 'iteration')])) + 1 : 0;
    const body = marker + rest - 1;
    const size = withoutProgress + (body > 0 ? body : bytes(NONE));
    if (size <= maxBytes || drop === items.length) {
      parts.progress = items.slice(drop);
      parts.progressFolded = folded;
      return;
    }
    rest -= (itemBytes[drop] ?? 0) + 1;
  }
}

function sectionOf(line: string): Field | undefined {
  const match = /^##\s+(.+?)\s*#*\s*$/.exec(line);
  if (!match?.[1]) return undefined;
  const name = match[1].toLowerCase().replace(/\s+/g, ' ');
  return SECTIONS.find((section) => section.aliases.includes(name))?.field;
}

function joinText(lines: string[]): string {
  const text = lines.join('\n').trim();
  return text === NONE ? '' : text;
}

function parseList(lines: string[]): string[] {
  const items: string[][] = [];
  for (const line of lines) {
    const bullet = /^(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (bullet) {
      items.push([bullet[1] ?? '']);
      continue;
    }
    if (line.trim() === NONE) continue;
    const current = items[items.length - 1];
    if (current) current.push(line.replace(/^ {1,2}/, ''));
    else if (line.trim() !== '') items.push([line.trim()]);
  }
  return items.map((item) => item.join('\n').trim()).filter((item) => item !== '');
}

/**
 * Reads MEMORY.md back. Tolerant of hand edits: headings in any case, bullets as -, * or 1.,
 * missing sections left empty, and text outside the known sections kept as notes.
 */
export function parseMemory(text: string): MemoryDoc {
  const buckets: Record<Field, string[]> = {
    goal: [],
    progress: [],
    handoff: [],
    lastFeedback: [],
    corrections: [],
    notes: [],
  };
  const preamble: string[] = [];
  let current: Field | undefined;
  let titleSeen = false;
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const field = sectionOf(raw);
    if (field) {
      current = field;
      // A repeated section continues the first one.
      if (buckets[field].length > 0) buckets[field].push('');
      continue;
    }
    const line = unescapeLine(raw);
    if (current !== undefined) buckets[current].push(line);
    else if (!titleSeen && preamble.every((l) => l.trim() === '') && /^#\s/.test(line)) titleSeen = true;
    else preamble.push(line);
  }
  const notes = [joinText(preamble), joinText(buckets.notes)].filter((part) => part !== '').join('\n\n');
  const handoff = joinText(buckets.handoff);
  return {
    goal: joinText(buckets.goal),
    progress: parseList(buckets.progress),
    ...(handoff === '' ? {} : { handoff }),
    lastFeedback: joinText(buckets.lastFeedback),
    corrections: parseList(buckets.corrections),
    notes,
  };
}

/** The document as it reads back from MEMORY.md once capped: what the next iteration is given. */
export function capMemory(doc: MemoryDoc, maxBytes: number): MemoryDoc {
  return parseMemory(renderMemory(doc, maxBytes));
}

/** The memory at `file`, or null when there is none yet. */
export async function readMemory(file: string): Promise<MemoryDoc | null> {
  try {
    return parseMemory(await readFile(file, 'utf8'));
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Writes the capped memory atomically; returns its size in bytes. */
export async function writeMemory(file: string, doc: MemoryDoc, maxBytes: number): Promise<number> {
  const text = renderMemory(doc, maxBytes);
  await writeFileAtomic(file, text);
  return bytes(text);
}
