/**
 * The LOOP.md front matter schema: every field of PRODUCT.md with its default, so a loop can be
 * three lines. Unknown keys are errors (strict objects), never silently ignored.
 *
 * zod 4 note: `.prefault(x)` parses `x` through the schema (so nested defaults apply), whereas
 * `.default(x)` would return `x` as is.
 */
import { z } from 'zod';
import {
  baseRefProblem,
  cronProblem,
  timezoneProblem,
  MAX_BUDGET_MINUTES,
  MAX_TIMEOUT_SECONDS,
  regexProblem,
  urlSchemeProblem,
} from './checks.js';
import { HEADER_NAME, headerProblems } from '../../tools/mcp/headers.js';

export const TOOL_NAMES = ['read_file', 'write_file', 'edit_file', 'list_files', 'search', 'run'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export const PROVIDERS = ['anthropic', 'openai', 'claude-code', 'codex', 'command', 'scripted'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const DEFAULT_MODELS: Record<ProviderName, string> = {
  anthropic: 'claude-sonnet-4-6',
  openai: 'gpt-5-mini',
  'claude-code': 'default',
  codex: 'default',
  command: 'default',
  scripted: 'scripted',
};

/**
 * Each API provider's small model, for the cheap steps (triage, and memory handoffs when that costs
 * less; core/run/step-model.ts) when the loop sets no `agent.route` for them. CLI agents, `command`
 * and `scripted` keep the loop's own model. Names as the price table knows them.
 */
export const SMALL_MODELS: Readonly<Partial<Record<ProviderName, string>>> = {
  anthropic: 'claude-haiku-4-5',
  openai: 'gpt-5-nano',
};

const name = z
  .string()
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'use lowercase letters, digits and single hyphens, like fix-tests')
  .max(64);

const positive = z.number().positive();

/** A string the check refuses (its reason) is a problem at the field, found by validate, not by a run. */
function checkedString(check: (value: string) => string | undefined): z.ZodString {
  return z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      if (value === '') return; // "must not be empty" says it already
      const problem = check(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    });
}

const positiveInt = z.number().int().positive();
/** Minutes a timer waits: Node fires a longer timer at once. */
const timerMinutes = positive.max(
  MAX_BUDGET_MINUTES,
  `at most ${MAX_BUDGET_MINUTES} minutes (about 24 days): a longer timer would fire at once`,
);

export const routeSchema = z.strictObject({
  triage: z.string().min(1).optional(),
  summary: z.string().min(1).optional(),
  review: z.string().min(1).optional(),
});

/** An environment variable's name, as a shell would accept it. */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name, like DATABASE_URL');

export const mcpServerSchema = z
  .strictObject({
    /** Its tools reach the model as mcp__NAME__TOOL, and approval rules name it as mcp:NAME/TOOL. */
    name,
    /** A stdio server: the command (run in the worktree, inside the sandbox) and its arguments. */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).prefault([]),
    /** A streamable HTTP server. */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'use an http:// or https:// URL')
      .optional(),
    /**
     * Variables passed from loops' own environment by name (a token, say); never values in LOOP.md. A
     * stdio server gets them in its environment, an HTTP one only through `headers`.
     */
    env: z.array(envName).prefault([]),
    /** HTTP headers for a url server; `${NAME}` in a value is a variable listed in `env` (headers.ts). */
    headers: z
      .record(z.string().regex(HEADER_NAME, 'an HTTP header name, like Authorization'), z.string())
      .optional(),
    /**
     * Which of its tools ask a person before each call (core/approval/hints.ts): `hinted` (those its
     * hints say may be destructive), `always` (all), `never` (none; `approve:` rules still ask).
     */
    approve: z.enum(['hinted', 'always', 'never']).prefault('hinted'),
  })
  .superRefine((s, ctx) => {
    if ((s.command === undefined) === (s.url === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give a server either a command (stdio) or a url (streamable HTTP)',
      });
      return;
    }
    for (const p of headerProblems(s)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  });

export const agentSchema = z.strictObject({
  provider: z.enum(PROVIDERS).prefault('anthropic'),
  /** Defaults per provider (DEFAULT_MODELS) when absent. */
  model: z.string().min(1).optional(),
  route: routeSchema.prefault({}),
  tools: z.array(z.enum(TOOL_NAMES)).prefault([...TOOL_NAMES]),
  mcp: z.array(mcpServerSchema).prefault([]),
  max_tokens: positiveInt.prefault(8192),
  /** OpenAI-compatible endpoint (e.g. a local Ollama); OPENAI_BASE_URL works too. */
  base_url: z
    .string()
    .url()
    .superRefine((value, ctx) => {
      const problem = urlSchemeProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  /** The scripted provider's script, relative to the loop folder. */
  script: z.string().min(1).prefault('SCRIPT.yaml'),
  /** The command provider's argv; the prompt goes on stdin unless an argument is "{prompt}". */
  command: z.array(z.string()).min(1).optional(),
});

/** A provider's required settings, checked with the agent block so the problem points at `provider`. */
const agentChecked = agentSchema.superRefine((agent, ctx) => {
  if (agent.provider === 'command' && agent.command === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['provider'],
      message:
        'the command provider needs agent.command, the argv to run (e.g. command: ["my-agent", "{prompt}"])',
    });
  }
});

export const workspaceSchema = z.strictObject({
  /** The branch (or any commit-ish) the run's worktree starts from. HEAD = what the repo has checked out. */
  base: checkedString(baseRefProblem).prefault('HEAD'),
  /**
   * Commands run in a new worktree before the first iteration (e.g. npm ci), sandboxed in a profile
   * that may reach the network and write a shared dependency cache; a failing one fails the run.
   */
  setup: z.array(z.string().min(1)).prefault([]),
});

/** A goal's own budget across its runs: it restarts an unverified run until verified or one is spent. */
export const goalSchema = z.strictObject({
  /** Runs the goal may start in all (the first included). */
  runs: positiveInt.prefault(10),
  /** Dollars across the goal's runs. */
  usd: positive.optional(),
  /** Hours from the goal's first run. */
  hours: positive.optional(),
  /** Seconds to wait before the next run; doubles after each unverified run, up to ten times this. */
  backoff: z.number().nonnegative().prefault(30),
});

export const webhookSchema = z.strictObject({
  /** The environment variable holding the HMAC-SHA256 secret (never the secret itself). */
  secret_env: envName.prefault('LOOPS_WEBHOOK_SECRET'),
  /** Bodies larger than this (bytes) are refused with 413. */
  max_bytes: positiveInt.max(10 * 1024 * 1024).prefault(1024 * 1024),
});

export const triggerSchema = z.strictObject({
  /** Five fields: minute hour day month weekday. */
  cron: checkedString(cronProblem).optional(),
  /** An IANA time zone for `cron` (e.g. Europe/Berlin); default: the machine's own. */
  timezone: checkedString(timezoneProblem).optional(),
  /** Run once at start when a cron time was missed while nothing was running; default: never replay. */
  catch_up: z.boolean().prefault(false),
  /** Globs (relative to the repository root) whose changes start a run. */
  watch: z.array(z.string().min(1)).optional(),
  /** Seconds of quiet after a change before the run starts (changes in between are one event). */
  debounce: z.number().nonnegative().max(3600).prefault(2),
  /** POST /hooks/NAME on loops' webhook server starts a run (`true` takes the defaults). */
  webhook: z.union([z.literal(true), webhookSchema]).optional(),
  /** Restart a run that ended unverified, until verified or the goal's budget is spent. */
  goal: z.union([z.literal(true), goalSchema]).optional(),
  /** Ask the triage model whether an event is worth a run, with this instruction. */
  triage: z.string().min(1).optional(),
  /** A trigger that fires while the loop runs: queue one start behind it, or drop the event. */
  overlap: z.enum(['queue', 'drop']).prefault('queue'),
});

const graderCommon = {
  name: z.string().min(1).optional(),
  /** A holdout grader decides `verified`, but its feedback never reaches the agent. */
  holdout: z.boolean().prefault(false),
  /** Files the agent may not write (the grader's own inputs). */
  protect: z.array(z.string().min(1)).prefault([]),
  /** Seconds before the grader is stopped and counts as an error. */
  timeout: positive
    .max(
      MAX_TIMEOUT_SECONDS,
      `at most ${MAX_TIMEOUT_SECONDS} seconds (about 24 days): a longer timer would fire at once`,
    )
    .prefault(600),
};

export const commandGraderSchema = z.strictObject({
  ...graderCommon,
  command: z.string().min(1),
});

export const rubricGraderSchema = z.strictObject({
  ...graderCommon,
  rubric: z.string().min(1),
  model: z.string().min(1).optional(),
  threshold: z.number().min(0).max(1).prefault(0.8),
});

export const metricGraderSchema = z.strictObject({
  ...graderCommon,
  metric: z.strictObject({
    command: z.string().min(1),
    pattern: checkedString(regexProblem),
    goal: z.enum(['maximize', 'minimize']).prefault('maximize'),
    target: z.number().optional(),
  }),
});

export const checkerGraderSchema = z.strictObject({
  ...graderCommon,
  checker: z.union([
    z.literal(true),
    z.strictObject({ model: z.string().min(1).optional(), prompt: z.string().min(1).optional() }),
  ]),
});

export const graderSchema = z.union([
  commandGraderSchema,
  rubricGraderSchema,
  metricGraderSchema,
  checkerGraderSchema,
]);

export const budgetSchema = z.strictObject({
  iterations: positiveInt.prefault(10),
  tool_calls: positiveInt.prefault(200),
  usd: positive.prefault(2),
  tokens: positiveInt.prefault(2_000_000),
  minutes: timerMinutes.prefault(60),
});

export const stallSchema = z.strictObject({
  window: positiveInt.prefault(3),
  on_stall: z.enum(['nudge', 'pause', 'stop']).prefault('pause'),
  /**
   * How long a stall's pause waits for a person to resume the run before it ends `stalled`: a daemon
   * or a screen nobody watches must not hold the run (and its slot in the limit) forever.
   */
  pause_timeout_minutes: timerMinutes.prefault(60),
});

/**
 * How the agent's commands and the graders are confined (docs/sandbox.md): on by default, with the
 * network off. `off` runs them unconfined. A list of hosts is refused, not ignored: bubblewrap alone
 * cannot filter by host.
 */
export const sandboxSchema = z.union([
  z.literal('off'),
  z.strictObject({
    network: z
      .union([z.boolean(), z.array(z.string())])
      .refine((value) => typeof value === 'boolean', {
        message:
          'a list of hosts cannot be enforced by the sandbox yet (bubblewrap has no host filter), so it is refused rather than ignored: use true to share the network, or false',
      })
      .transform((value) => value === true)
      .prefault(false),
    /** Variables passed from loops' own environment on purpose (their values never go in LOOP.md). */
    env: z.array(envName).prefault([]),
  }),
]);
export type SandboxConfig = z.output<typeof sandboxSchema>;

export const memorySchema = z.strictObject({
  /** MEMORY.md is kept under this size. */
  max_bytes: positiveInt.prefault(16_384),
});

export const telemetrySchema = z.strictObject({
  /** Export prompt and reply text, tool arguments and results, and grader feedback in OpenTelemetry spans. */
  content: z.boolean().prefault(false),
});

/**
 * Hill-climbing (docs/hillclimb.md): when a proposal is made, what it may cost, and how it is measured.
 * `runs_per_task` defaults to 1 for the scripted model (deterministic) and 3 for real ones.
 */
export const hillclimbSchema = z.strictObject({
  /** Propose after every N runs of the loop (under a supervisor: the screen or the daemon). */
  every: positiveInt.optional(),
  /** On a schedule (five fields, the machine's time zone), while the screen or the daemon runs. */
  cron: checkedString(cronProblem).optional(),
  /** Dollars one proposal's analysis may spend (the analyst's calls). */
  usd_per_proposal: positive.prefault(0.5),
  /** Dollars one proposal's evaluation may spend (every re-run's calls); absent: only each run's `budget:`. */
  usd_per_evaluation: positive.optional(),
  /** Times each task is re-run per arm of the evaluation. */
  runs_per_task: positiveInt.max(20).optional(),
  /** How many recent failing tasks the evaluation re-runs. */
  tasks: positiveInt.max(50).prefault(5),
  /** A file (in the loop's folder) naming past runs whose tasks to evaluate on, instead of recent failures. */
  eval: z.string().min(1).optional(),
});
export type HillclimbConfig = z.output<typeof hillclimbSchema>;

export const loopFrontMatterSchema = z.strictObject({
  name,
  description: z.string().prefault(''),
  agent: agentChecked.prefault({}),
  workspace: workspaceSchema.prefault({}),
  trigger: triggerSchema.prefault({}),
  /**
   * Nothing a loop produces counts until a grader says so: without `verify:` a separate checker agent
   * grades each iteration, and an empty list is an error rather than a run reported done unverified.
   */
  verify: z
    .array(graderSchema)
    .min(1, 'a loop needs at least one grader (leave verify out to have a checker agent grade the work)')
    .prefault([{ checker: true }]),
  budget: budgetSchema.prefault({}),
  stall: stallSchema.prefault({}),
  approve: z.array(z.string().min(1)).prefault([]),
  /** How long a call that needs approval waits for a person (seconds) before it is denied. */
  approval: z.strictObject({ timeout: positive.prefault(900) }).prefault({}),
  /** How many runs of this loop may be in flight at once. */
  concurrency: positiveInt.prefault(1),
  memory: memorySchema.prefault({}),
  telemetry: telemetrySchema.prefault({}),
  sandbox: sandboxSchema.prefault({}),
  hillclimb: hillclimbSchema.optional(),
});

export type LoopFrontMatter = z.output<typeof loopFrontMatterSchema>;
export type GraderConfig = z.output<typeof graderSchema>;
export type CommandGraderConfig = z.output<typeof commandGraderSchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;

export interface SkillFile {
  name: string;
  description: string;
  /** Path relative to the repository root. */
  path: string;
  body: string;
}

export interface RubricCriterion {
  name: string;
  text: string;
}

/** A loaded, validated loop: what the engine runs. */
export interface LoopDefinition extends LoopFrontMatter {
  /** The model after the per-provider default is applied. */
  model: string;
  /** The task prompt: the body of LOOP.md. */
  task: string;
  /** Absolute path of the loop folder (loops/NAME). */
  dir: string;
  /** Absolute path of LOOP.md. */
  file: string;
  skills: SkillFile[];
  rubric?: { path: string; criteria: RubricCriterion[] };
}
