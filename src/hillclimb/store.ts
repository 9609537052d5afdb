/**
 * Proposals as files: state/NAME/proposals/ID.md, a page a person can read (what it changes and why,
 * the evaluation table, the evidence, the diff) that ends in a JSON block holding the same record for
 * loops to read back. Written atomically, so a crash leaves the old page or the new one, never half.
 *
 * A pending proposal whose file changed since it was made (its hash differs) is superseded: its diff
 * was made against text that is gone, and it is never applied to text it was not measured on.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProposalView } from '../core/proposals.js';
import { writeFileAtomic } from '../state/atomic.js';
import { isNotFound } from '../state/errno.js';
import { isLoopName, newRunId, type StatePaths } from '../state/paths.js';

export interface ProposalRecord extends ProposalView {
  /** sha256 of the target file's text when the proposal was made. */
  targetHash: string;
  /** The runs whose traces the analysis read. */
  runs: string[];
}

const RECORD_FENCE = '```json loops-proposal';
const ID = /^p-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/;

export function isProposalId(id: string): boolean {
  return ID.test(id);
}

export function newProposalId(now = new Date()): string {
  return `p-${newRunId(now)}`;
}

export function hashText(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export class ProposalStoreError extends Error {
  override name = 'ProposalStoreError';
}

export class ProposalStore {
  constructor(
    readonly paths: StatePaths,
    readonly repoRoot: string,
  ) {}

  dir(loop: string): string {
    return path.join(this.paths.loopDir(loop), 'proposals');
  }

  file(loop: string, id: string): string {
    if (!isProposalId(id))
      throw new ProposalStoreError(`"${id}" is not a proposal id (like p-20261202-041500-a3f9)`);
    return path.join(this.dir(loop), `${id}.md`);
  }

  async save(record: ProposalRecord): Promise<void> {
    await writeFileAtomic(this.file(record.loop, record.id), renderProposal(record));
  }

  /** One loop's proposals (all loops' when absent), superseded ones marked so; unreadable files are errors. */
  async list(loop?: string): Promise<ProposalRecord[]> {
    const loops = loop === undefined ? await this.loopsWithProposals() : [loop];
    const records: ProposalRecord[] = [];
    for (const name of loops) {
      let entries: string[];
      try {
        entries = await readdir(this.dir(name));
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      for (const entry of entries.sort()) {
        const id = entry.replace(/\.md$/, '');
        if (!entry.endsWith('.md') || !isProposalId(id)) continue;
        records.push(await this.read(name, id));
      }
    }
    return records;
  }

  /** Finds a proposal by id in any loop. */
  async find(id: string): Promise<ProposalRecord | undefined> {
    if (!isProposalId(id)) return undefined;
    for (const loop of await this.loopsWithProposals()) {
      const record = await this.read(loop, id).catch((error: unknown) => {
        if (error instanceof ProposalStoreError && /no proposal/.test(error.message)) return undefined;
        throw error;
      });
      if (record) return record;
    }
    return undefined;
  }

  async read(loop: string, id: string): Promise<ProposalRecord> {
    const file = this.file(loop, id);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isNotFound(error)) throw new ProposalStoreError(`no proposal ${id} in ${this.dir(loop)}`);
      throw error;
    }
    const record = parseProposal(text, file);
    return this.checkSuperseded(record);
  }

  /** A pending proposal whose file is no longer the text it was made against becomes superseded (on disk too). */
  private async checkSuperseded(record: ProposalRecord): Promise<ProposalRecord> {
    if (record.status !== 'pending') return record;
    let now: string | undefined;
    try {
      now = await readFile(path.join(this.repoRoot, record.file), 'utf8');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (now !== undefined && hashText(now) === record.targetHash) return record;
    const next: ProposalRecord = {
      ...record,
      status: 'superseded',
      reason:
        now === undefined
          ? `${record.file} was removed since`
          : `${record.file} changed since the proposal was made`,
    };
    await this.save(next);
    return next;
  }

  private async loopsWithProposals(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.paths.root);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    return entries.filter(isLoopName).sort();
  }
}

/** Pending first, then newest first. */
export function byReviewOrder(a: ProposalView, b: ProposalView): number {
  const pa = a.status === 'pending' ? 0 : 1;
  const pb = b.status === 'pending' ? 0 : 1;
  return pa - pb || (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1);
}

export function parseProposal(text: string, file: string): ProposalRecord {
  const start = text.lastIndexOf(`\n${RECORD_FENCE}\n`);
  if (start < 0)
    throw new ProposalStoreError(`${file}: no "${RECORD_FENCE}" block; the file was edited or cut`);
  const bodyStart = start + RECORD_FENCE.length + 2;
  const end = text.indexOf('\n```', bodyStart);
  if (end < 0) throw new ProposalStoreError(`${file}: the ${RECORD_FENCE} block is not closed`);
  let value: unknown;
  try {
    value = JSON.parse(text.slice(bodyStart, end));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ProposalStoreError(`${file}: the ${RECORD_FENCE} block is not valid JSON (${why})`);
  }
  if (!isRecord(value)) throw new ProposalStoreError(`${file}: the ${RECORD_FENCE} block is not a proposal`);
  return value;
}

function isRecord(value: unknown): value is ProposalRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    typeof r.loop === 'string' &&
    typeof r.file === 'string' &&
    typeof r.diff === 'string' &&
    typeof r.status === 'string' &&
    typeof r.targetHash === 'string' &&
    Array.isArray(r.signatures) &&
    Array.isArray(r.evaluation)
  );
}

/** A fence longer than any run of backticks in the text, so the diff cannot close it. */
function fenceFor(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

function money(usd: number | null): string {
  return usd === null ? '—' : `$${usd.toFixed(4)}`;
}

export function renderProposal(record: ProposalRecord): string {
  const lines: string[] = [
    `# Proposal ${record.id}: ${oneLine(record.title)}`,
    '',
    `- loop: ${record.loop}`,
    `- file: ${record.file}`,
    `- status: ${record.status}${record.reason ? ` (${oneLine(record.reason)})` : ''}`,
    ...(record.commit ? [`- commit: ${record.commit}`] : []),
    `- made: ${record.createdAt}`,
    `- effect: ${oneLine(record.effect)}`,
    `- cost: ${money(record.costUsd)}`,
    '',
    '## Rationale',
    '',
    record.rationale.trim(),
    '',
    '## Evaluation',
    '',
    '| arm | tasks | runs | verified | rate | iterations | $ | $/verified |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...record.evaluation.map(
      (a) =>
        `| ${a.arm} | ${a.tasks} | ${a.runs} | ${a.verified} | ${(a.rate * 100).toFixed(0)}% | ${a.iterations} | ${money(a.usd)} | ${money(a.usdPerVerified)} |`,
    ),
    '',
    '## Evidence',
    '',
    ...record.signatures.flatMap((s) => [
      `- **${oneLine(s.summary)}** (${s.count}×, \`${oneLine(s.key)}\`)`,
      ...s.evidence.map((e) => `  - ${e.run} seq ${e.seq}: ${oneLine(e.excerpt)}`),
    ]),
    '',
    '## Diff',
    '',
  ];
  const fence = fenceFor(record.diff);
  lines.push(
    `${fence}diff`,
    record.diff.replace(/\n$/, ''),
    fence,
    '',
    RECORD_FENCE,
    JSON.stringify(record, null, 2),
    '```',
    '',
  );
  return lines.join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
