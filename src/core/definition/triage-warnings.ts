/**
 * Triage settings that validate but would do nothing as written (nothing accepted and ignored):
 * a triage model routed for a loop that never triages, a triage instruction on a provider that cannot
 * make a call outside a run, or one on a loop with no trigger whose events are triaged.
 */
import type { YamlBlock } from './front-matter.js';
import { valueAt } from './issues.js';
import { fieldName } from './problems.js';
import type { DefinitionProblem } from './problems.js';

/** The triggers whose events go through triage (src/triggers/triage.ts's triageThenStart). */
export const TRIAGED_TRIGGERS = ['webhook', 'cron', 'watch'] as const;
/** Providers that can make one call outside a run (the CLI agents are whole sessions in a worktree). */
export const TRIAGE_PROVIDERS = ['anthropic', 'openai', 'scripted'] as const;

export function triageWarnings(yaml: YamlBlock, file: string): DefinitionProblem[] {
  const out: DefinitionProblem[] = [];
  const warn = (path: readonly string[], message: string): void => {
    out.push({ file, line: yaml.lineOf(path), field: fieldName(path), message });
  };
  const route = ['agent', 'route', 'triage'];
  const triage = ['trigger', 'triage'];
  const has = (path: readonly string[]): boolean => yaml.has(path) && valueAt(yaml.value, path) != null;
  if (has(route) && !has(triage))
    warn(
      route,
      'nothing triages in this loop, so this model is never called: add trigger.triage with an instruction',
    );
  if (!has(triage)) return out;
  const provider = valueAt(yaml.value, ['agent', 'provider']);
  if (typeof provider === 'string' && !(TRIAGE_PROVIDERS as readonly string[]).includes(provider))
    warn(
      triage,
      `the ${provider} provider cannot make a triage call outside a run, so every triaged event would be skipped: triage needs ${TRIAGE_PROVIDERS.join(', ')}`,
    );
  if (!TRIAGED_TRIGGERS.some((kind) => has(['trigger', kind])))
    warn(
      triage,
      `only ${TRIAGED_TRIGGERS.join(', ')} events are triaged, and this loop has no such trigger: the instruction is never used (manual starts are never triaged)`,
    );
  return out;
}
