/**
 * Trigger settings that the schema alone cannot judge: `trigger.watch` globs are read relative to the
 * repository root, so an absolute one or one that climbs out of it (`../other/**`) would watch files
 * loops has no business starting runs for, and one that names only loops' own folders would never fire.
 */
import picomatch from 'picomatch';
import { declareSecretName } from '../../process/env.js';
import type { LoopPlace } from './loop-checks.js';
import type { LoopFrontMatter } from './schema.js';
import type { YamlBlock } from './front-matter.js';
import { valueAt } from './issues.js';
import { escapesRepo } from './paths.js';
import { fieldName } from './problems.js';
import type { DefinitionProblem } from './problems.js';

/** Folders the watch trigger never looks into (triggers/watch.ts): loops' own and git's. */
export const WATCH_IGNORED_DIRS = ['.git', '.loops', 'state', 'node_modules'] as const;

export function checkWatch(place: LoopPlace): DefinitionProblem[] {
  const watch = valueAt(place.yaml.value, ['trigger', 'watch']);
  if (!Array.isArray(watch)) return [];
  const problems: DefinitionProblem[] = [];
  watch.forEach((entry: unknown, position) => {
    if (typeof entry !== 'string' || entry === '') return;
    const why = watchGlobProblem(place.repoRoot, entry);
    if (why === undefined) return;
    const where = ['trigger', 'watch', position];
    problems.push({
      file: place.file,
      line: place.yaml.lineOf(where),
      field: fieldName(where),
      message: why,
    });
  });
  return problems;
}

export function watchGlobProblem(repoRoot: string, glob: string): string | undefined {
  if (glob.startsWith('!')) return `"${glob}": negated globs are not supported in watch; list what to watch`;
  const base = picomatch.scan(glob).base;
  const escape = escapesRepo(repoRoot, repoRoot, base === '' ? '.' : base);
  if (escape !== undefined) return `${escape} (watch globs are relative to the repository root)`;
  if (glob.split('/').includes('..')) return `"${glob}" points outside the repository; use a path inside it`;
  const first = base.split('/')[0] ?? '';
  if ((WATCH_IGNORED_DIRS as readonly string[]).includes(first))
    return `"${glob}" is inside ${first}/, which the watch trigger never looks into (loops' own files, git's, dependencies)`;
  return undefined;
}

/**
 * The webhook's secret variable is kept from the agent, the graders and the tools by its name, whatever
 * that name is (process/env.ts): an agent that could read it could sign deliveries to its own loop.
 */
export function declareWebhookSecret(frontMatter: LoopFrontMatter): void {
  const hook = frontMatter.trigger.webhook;
  if (hook !== undefined && hook !== true) declareSecretName(hook.secret_env);
}

/** Settings that only mean something beside another trigger setting, and the setting they need. */
const NEEDS: ReadonlyArray<{ key: string; needs: string; what: string }> = [
  { key: 'timezone', needs: 'cron', what: 'the zone a cron expression is read in' },
  { key: 'catch_up', needs: 'cron', what: 'whether a missed cron time runs once at start' },
  { key: 'debounce', needs: 'watch', what: 'the quiet time before a watched change starts a run' },
];

/** Warnings for trigger settings given without the trigger they tune: accepted, so they must be said. */
export function triggerWarnings(yaml: YamlBlock, file: string): DefinitionProblem[] {
  const given = (key: string): boolean =>
    yaml.has(['trigger', key]) && valueAt(yaml.value, ['trigger', key]) != null;
  return NEEDS.filter(({ key, needs }) => given(key) && !given(needs)).map(({ key, needs, what }) => {
    const where = ['trigger', key];
    return {
      file,
      line: yaml.lineOf(where),
      field: fieldName(where),
      message: `${key} is ${what}, but this loop has no trigger.${needs}: it does nothing`,
    };
  });
}
