/**
 * A person's decision on a proposal. Accept applies the diff to the file in the repository's checkout
 * and commits that file alone on the current branch, with a message citing the proposal; it refuses
 * when the file has uncommitted changes (a person's work in progress is never mixed into the commit or
 * overwritten), when HEAD is detached, or when the file changed since the proposal (superseded). Other
 * uncommitted work, staged or not, is left exactly as it was. Reject keeps the reason, which the
 * analyst is shown next time so the change is never proposed again.
 */
import path from 'node:path';
import { applyPatch } from 'diff';
import type { ProposalAnswer } from '../core/proposals.js';
import { loadLoop } from '../core/definition/load.js';
import { writeFileAtomic } from '../state/atomic.js';
import { configFor, git, gitOk } from '../workspace/git.js';
import { checkProposal } from './guard.js';
import type { ProposalRecord, ProposalStore } from './store.js';

const FALLBACK_IDENTITY = ['-c', 'user.name=loops', '-c', 'user.email=loops@localhost'];

async function decidable(store: ProposalStore, id: string): Promise<ProposalRecord | string> {
  const record = await store.find(id);
  if (!record) return `no proposal ${id}: loops review --list shows them`;
  if (record.status !== 'pending') {
    return `proposal ${id} is ${record.status}${record.reason ? ` (${record.reason})` : ''}: only a pending proposal can be decided`;
  }
  return record;
}

export async function rejectProposal(
  store: ProposalStore,
  id: string,
  reason: string,
): Promise<ProposalAnswer> {
  const why = reason.trim();
  if (why === '')
    return { ok: false, reason: 'say why it is rejected (--reason TEXT): the analyst is shown it next time' };
  const record = await decidable(store, id);
  if (typeof record === 'string') return { ok: false, reason: record };
  await store.save({ ...record, status: 'rejected', reason: why });
  return { ok: true, detail: `rejected ${id}: ${why}` };
}

export async function acceptProposal(
  store: ProposalStore,
  repoRoot: string,
  id: string,
  options: { diff?: string } = {},
): Promise<ProposalAnswer> {
  const record = await decidable(store, id);
  if (typeof record === 'string') return { ok: false, reason: record };
  const loaded = await loadLoop(repoRoot, record.loop);
  if (!loaded.ok) return { ok: false, reason: `loops/${record.loop} does not load now: run loops validate` };
  const edited = options.diff !== undefined && options.diff.trim() !== record.diff.trim();
  const diff = options.diff ?? record.diff;
  // The edited diff is checked like the analyst's (it could now touch a setting); it is not re-measured.
  const checked = await checkProposal({
    repoRoot,
    definition: loaded.definition,
    file: record.file,
    diff,
    rejected: [],
  });
  if (!checked.ok) return { ok: false, reason: checked.reason };

  const file = record.file;
  const status = await gitOk(
    repoRoot,
    ['status', '--porcelain=v1', '-z', '--', file],
    `reading the status of ${file}`,
  );
  if (status.trim() !== '') {
    return { ok: false, reason: `${file} has uncommitted changes: commit or stash them, then accept again` };
  }
  const branch = await git(repoRoot, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  if (branch.exitCode !== 0)
    return { ok: false, reason: 'HEAD is detached: check out the branch the change belongs on' };
  const after = applyPatch(checked.before, diff);
  if (after === false) return { ok: false, reason: `the diff no longer applies to ${file}` };
  await writeFileAtomic(path.join(repoRoot, file), after);
  const message = [
    `loops hill-climb: ${record.title} (${record.id})`,
    '',
    `Accepted proposal ${record.id} for loop ${record.loop}: ${record.effect}.${edited ? ' The diff was edited by a person before it was applied (the edit was not measured).' : ''}`,
    `See state/${record.loop}/proposals/${record.id}.md for the evidence and the evaluation.`,
  ].join('\n');
  const identity = (await configFor(repoRoot)).hasIdentity ? [] : FALLBACK_IDENTITY;
  try {
    await gitOk(repoRoot, ['add', '--', file], `staging ${file}`);
    // `--only` with the path: the commit holds this file alone, whatever else is staged.
    await gitOk(
      repoRoot,
      [...identity, 'commit', '--quiet', '--no-verify', '--only', '-m', message, '--', file],
      `committing ${file}`,
    );
  } catch (error) {
    // Put the file back as it was: nothing half-done is left in the checkout.
    await writeFileAtomic(path.join(repoRoot, file), checked.before);
    await git(repoRoot, ['reset', '--quiet', '--', file]);
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const commit = (await gitOk(repoRoot, ['rev-parse', 'HEAD'], 'reading HEAD')).trim();
  await store.save({
    ...record,
    status: 'accepted',
    commit,
    ...(edited ? { reason: 'accepted with an edited diff' } : {}),
  });
  return {
    ok: true,
    detail: `accepted ${record.id}: committed ${commit.slice(0, 12)} on ${branch.stdout.trim()}`,
    commit,
  };
}
