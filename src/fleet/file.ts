/**
 * The fleet file, loops/loops.yaml beside the loops: caps and settings across every loop (the daily
 * dollar cap, the burn-rate cap, runs at once, outbound notifications, the webhook server's port).
 * It is checked like LOOP.md (strict keys, each problem at its file, line and field), and a missing
 * file means no fleet caps at all.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseYamlBlock } from '../core/definition/front-matter.js';
import { readText } from '../core/definition/files.js';
import { validateYaml } from '../core/definition/issues.js';
import type { DefinitionProblem } from '../core/definition/problems.js';
import { declareSecretName, looksLikeSecretName } from '../process/env.js';

/** Where the fleet file lives, relative to the repository root. */
export const FLEET_FILE = 'loops/loops.yaml';

export const DEFAULT_NOTIFY_ENV = 'LOOPS_NOTIFY_URL';

export const NOTIFY_KINDS = ['outcome', 'needs_person', 'fleet'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** The variable must be one the agent's commands never see (process/env.ts drops it by its name). */
const urlEnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name, like LOOPS_NOTIFY_URL')
  .refine(looksLikeSecretName, {
    message:
      'the URL is a secret, so its variable must be one loops keeps from the agent: end its name with NOTIFY_URL or WEBHOOK_URL',
  });

const dollars = z.number().positive();

export const fleetBudgetSchema = z.strictObject({
  /** Dollars across all loops per calendar day, in the machine's local time. */
  daily_usd: dollars.optional(),
  /** Dollars spent over the last 15 minutes, times four: the pace of spending, per hour. */
  burn_usd_per_hour: dollars.optional(),
});

export const notifySchema = z.strictObject({
  /** The environment variable holding the URL to POST to (the URL is a secret: never in this file). */
  url_env: urlEnvName.prefault(DEFAULT_NOTIFY_ENV),
  /** What is sent: a run's outcome, a loop that needs a person, the fleet's caps. */
  on: z
    .array(z.enum(NOTIFY_KINDS))
    .min(1)
    .prefault([...NOTIFY_KINDS]),
});

export const fleetSchema = z.strictObject({
  budget: fleetBudgetSchema.optional(),
  notify: notifySchema.prefault({}),
  webhooks: z
    .strictObject({
      /** The port of the webhook server (it listens on 127.0.0.1 unless told otherwise). */
      port: z.number().int().min(1).max(65_535),
    })
    .optional(),
  /** Runs in flight at once across all loops. */
  max_concurrent: z.number().int().positive().max(256).optional(),
});

export type FleetFile = z.output<typeof fleetSchema>;

export type FleetLoad =
  | { ok: true; fleet: FleetFile; exists: boolean; lineOf: (path: readonly PropertyKey[]) => number }
  | { ok: false; problems: DefinitionProblem[] };

/** The fleet's settings when there is no loops.yaml: no caps, notifications from the default variable. */
export function defaultFleet(): FleetFile {
  return fleetSchema.parse({});
}

export async function loadFleetFile(repoRoot: string): Promise<FleetLoad> {
  const root = path.resolve(repoRoot);
  const read = await readText(path.join(root, ...FLEET_FILE.split('/')), FLEET_FILE, root);
  if (read.kind === 'missing') return { ok: true, fleet: defaultFleet(), exists: false, lineOf: () => 1 };
  if (read.kind === 'error') return { ok: false, problems: [read.problem] };
  return parseFleetText(read.text);
}

/** Parses the text of loops.yaml (exported for tests and for a reload that already has the text). */
export function parseFleetText(text: string): FleetLoad {
  const yamlText = text.replace(/^\uFEFF/, '');
  const parsed = parseYamlBlock({ yamlText, yamlLine: 1, body: '', bodyLine: 1 }, FLEET_FILE);
  if (!parsed.ok) return { ok: false, problems: parsed.problems.map(wholeFile) };
  const validated = validateYaml(fleetSchema, parsed.yaml, FLEET_FILE);
  if (!validated.ok) return { ok: false, problems: validated.problems.map(wholeFile) };
  declareSecretName(validated.data.notify.url_env);
  return { ok: true, fleet: validated.data, exists: true, lineOf: (p) => parsed.yaml.lineOf(p) };
}

/** LOOP.md's machinery names the whole YAML "(front matter)"; here it is the whole file. */
function wholeFile(problem: DefinitionProblem): DefinitionProblem {
  if (problem.field !== '(front matter)') return problem;
  return {
    ...problem,
    field: '(file)',
    message: problem.message.replace('the front matter must be', 'loops.yaml must be'),
  };
}

/** Thrown where a supervisor opens with a loops.yaml it cannot read: its caps are never silently dropped. */
export class FleetFileError extends Error {
  constructor(readonly problems: DefinitionProblem[]) {
    super(
      `${FLEET_FILE} has ${problems.length} problem(s), so its caps cannot be applied; run loops validate:\n` +
        problems.map((p) => `  ${p.file}:${p.line}: ${p.field}: ${p.message}`).join('\n'),
    );
    this.name = 'FleetFileError';
  }
}

/** The fleet file, or a FleetFileError with every problem. */
export async function requireFleetFile(repoRoot: string): Promise<FleetFile> {
  const loaded = await loadFleetFile(repoRoot);
  if (!loaded.ok) throw new FleetFileError(loaded.problems);
  return loaded.fleet;
}
