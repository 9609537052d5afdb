/**
 * Claude Code as a provider: one complete() is one whole agent turn of
 * `claude -p --output-format stream-json --verbose`, run in the worktree. Claude Code makes its own
 * tool calls; they reach the trace through request.onEvent, and the turn comes back as a response
 * with no tool calls, so the agent loop ends its turn and the graders run.
 *
 * Usage: the stream repeats an assistant message's usage on every event of that message, so it is
 * counted once per message id, and reported through onEvent as it grows, so the run's caps see a long
 * turn's spend while it runs. The `result` event's usage and total_cost_usd are Claude Code's own totals
 * for the turn: when present they replace the running count, and the cost is used as the call's.
 *
 * A request that forces a tool (a judge's submit_verdict) runs with `--json-schema` set to that tool's
 * input schema: Claude Code's structured output, the result's `structured_output`, comes back as the
 * call's input, so a verdict is never read out of the result's text.
 *
 * Claude Code gets the scrubbed environment plus its own variables (cli-env.ts); whatever it reports
 * has the user's secrets cut out before it is emitted.
 *
 * Failures: a result with is_error and no work done is a ProviderError of the kind its words say
 * (cli-failure.ts); an `api_retry` event that reports refused credentials ends the call at once (no
 * retry can fix a login), and a Claude Code that does not exit after its result is stopped
 * (cli-process.ts). agent.base_url reaches it as ANTHROPIC_BASE_URL, which it reads; an endpoint set
 * either way is checked for a listener first (cli-endpoint.ts).
 */
import type { TokenUsage } from '../core/events.js';
import { addUsage, emptyUsage } from '../core/events.js';
import { fromAnthropicUsage } from './anthropic-usage.js';
import { CLAUDE_CODE_ENV, cliEnv, Redactor } from './cli-env.js';
import { EndpointCheck } from './cli-endpoint.js';
import { classifyCliMessage, cliFailure, type CliFailureLabel, type Endpoint } from './cli-failure.js';
import { exitError, runCli, type LineVerdict } from './cli-process.js';
import { readVar } from './env.js';
import { promptFitsArgument, renderPrompt } from './cli-prompt.js';
import { asArray, asNumber, asObject, asString, parseJsonLine, type JsonObject } from './json-lines.js';
import {
  ProviderError,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type ProviderEvent,
  type ToolSpec,
} from './provider.js';

export interface ClaudeCodeProviderOptions {
  /** The user's environment; the child gets it without credentials, except Claude Code's own. */
  env: NodeJS.ProcessEnv;
  /** The executable; `claude` on PATH by default. */
  executable?: string;
  /** Variables the loop passes through on purpose (`sandbox: { env: [...] }`). */
  passEnv?: Record<string, string>;
  /** Permission rules Claude Code refuses (the loop's `approve:` rules; nobody can approve in -p mode). */
  disallowedTools?: readonly string[];
  /** agent.base_url: the Anthropic-compatible endpoint, passed as ANTHROPIC_BASE_URL. */
  baseUrl?: string;
}

/**
 * Claude Code's own sandbox, switched on for every session loops starts: its shell commands run
 * confined (bubblewrap or Seatbelt) with no way to retry one unconfined, and a session where the
 * sandbox cannot start fails instead of running without it. Passed as flag settings, which outrank a
 * project's .claude/settings.json (the agent can write that file in its worktree).
 */
export const CLAUDE_SANDBOX_SETTINGS = JSON.stringify({
  sandbox: {
    enabled: true,
    failIfUnavailable: true,
    allowUnsandboxedCommands: false,
    autoAllowBashIfSandboxed: true,
  },
});

/** DEFAULT_MODELS['claude-code']: let Claude Code choose. */
const DEFAULT_MODEL = 'default';

export class ClaudeCodeProvider implements ModelProvider {
  readonly name = 'claude-code';
  private readonly file: string;
  private readonly env: Record<string, string>;
  private readonly redactor: Redactor;
  private readonly disallowed: readonly string[];
  private readonly endpoint: Endpoint | undefined;
  private readonly label: CliFailureLabel;
  private readonly endpointCheck: EndpointCheck;

  constructor(opts: ClaudeCodeProviderOptions) {
    this.file = opts.executable ?? 'claude';
    this.disallowed = opts.disallowedTools ?? [];
    const fromEnv = readVar(opts.env, 'ANTHROPIC_BASE_URL');
    this.endpoint = opts.baseUrl
      ? { url: opts.baseUrl, source: 'agent.base_url' }
      : fromEnv
        ? { url: fromEnv, source: 'ANTHROPIC_BASE_URL' }
        : undefined;
    this.env = {
      ...cliEnv(opts.env, CLAUDE_CODE_ENV),
      ...opts.passEnv,
      ...(opts.baseUrl ? { ANTHROPIC_BASE_URL: opts.baseUrl } : {}),
    };
    this.redactor = new Redactor(opts.env);
    this.label = {
      provider: this.name,
      title: 'Claude Code',
      login: 'ANTHROPIC_API_KEY or `claude /login`',
      ...(this.endpoint ? { endpoint: this.endpoint } : {}),
    };
    // Checked once per run, not per call.
    this.endpointCheck = new EndpointCheck(this.label, opts.env);
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    await this.endpointCheck.check(request.signal);
    const forced = forcedTool(request);
    const prompt = forced
      ? `${renderPrompt(request)}\n\nGive the input of ${forced.name} as your structured output (the JSON schema you were given).`
      : renderPrompt(request);
    const asArgument = promptFitsArgument(prompt);
    const args = [
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      // Unattended: file edits inside the worktree go through; anything else Claude Code would ask about
      // is refused and reported in the result.
      '--permission-mode',
      'acceptEdits',
      '--settings',
      CLAUDE_SANDBOX_SETTINGS,
      ...(this.disallowed.length > 0 ? ['--disallowedTools', ...this.disallowed] : []),
      ...(request.model === DEFAULT_MODEL ? [] : ['--model', request.model]),
      ...(forced ? ['--json-schema', JSON.stringify(forced.inputSchema)] : []),
      ...(asArgument ? [prompt] : []),
    ];
    const stream = new ClaudeStream(request.onEvent, this.redactor, forced?.name, this.label);
    const exit = await runCli({
      provider: this.name,
      file: this.file,
      args,
      cwd: request.cwd,
      env: this.env,
      redactor: this.redactor,
      ...(asArgument ? {} : { input: prompt }),
      ...(request.signal ? { signal: request.signal } : {}),
      missingHint: 'install Claude Code or use provider anthropic',
      onLine: (line) => stream.line(line),
    });
    const response = stream.response(request.model);
    if (response) return response;
    if (stream.refused !== undefined)
      throw cliFailure(this.label, stream.refused, { kind: 'auth', retryable: false });
    if (exit.exitCode !== 0 && !exit.ended) {
      throw exitError({ provider: this.name, file: this.file }, exit, this.label);
    }
    throw new ProviderError(
      'malformed',
      `\`${this.file}\` ended without a result event; check that it is Claude Code and supports --output-format stream-json`,
      this.name,
    );
  }
}

/** The stream-json events of one `claude -p` run, folded as they arrive. */
export class ClaudeStream {
  private readonly usageById = new Map<string, TokenUsage>();
  private readonly toolNames = new Map<string, string>();
  private model: string | undefined;
  private lastText = '';
  private result: JsonObject | undefined;
  private unnamed = 0;
  /** The last api_retry's status and error, for what a failed result means. */
  private retried: string | undefined;
  /** Set when an api_retry reported refused credentials: the call ends there. */
  refused: string | undefined;
  private readonly onEvent: ((event: ProviderEvent) => void) | undefined;

  /**
   * `redactor` cuts secrets out of every event and of the response. `structuredAs` names the forced
   * tool whose input the result's structured_output is.
   */
  constructor(
    onEvent?: (event: ProviderEvent) => void,
    private readonly redactor = new Redactor({}),
    private readonly structuredAs?: string,
    private readonly label: CliFailureLabel = {
      provider: 'claude-code',
      title: 'Claude Code',
      login: 'ANTHROPIC_API_KEY',
    },
  ) {
    this.onEvent = redactor.events(onEvent);
  }

  /** Folds one line in; says whether Claude Code is done or working (cli-process.ts). */
  line(text: string): LineVerdict {
    const event = parseJsonLine(text);
    if (!event) return undefined;
    if (event.type === 'assistant') this.assistant(asObject(event.message));
    else if (event.type === 'user') this.user(asObject(event.message));
    else if (event.type === 'result') {
      this.result = event;
      this.reportUsage(asNumber(event.total_cost_usd));
      return 'done';
    } else if (event.type === 'system' && event.subtype === 'api_retry') {
      return this.apiRetry(event);
    } else {
      return undefined;
    }
    return 'working';
  }

  /** Claude Code retrying a failed API call: worth waiting for, unless its login was refused. */
  private apiRetry(event: JsonObject): LineVerdict {
    const status = asNumber(event.error_status);
    const error = asString(event.error);
    const words = [status === undefined ? undefined : `HTTP ${status}`, error].filter((w) => w !== undefined);
    this.retried = words.length > 0 ? words.join(', ') : undefined;
    const refused =
      status === 401 ||
      status === 403 ||
      /^(authentication_failed|billing_error|permission_error)$/.test(error ?? '');
    if (!refused) return 'working';
    this.refused = `the API refused the login while Claude Code retried (${this.retried ?? 'no detail'})`;
    return 'done';
  }

  /**
   * The turn's usage so far: the result's own totals once it has come (it counts the whole session,
   * which the per-message figures may not), else the sum of the messages seen.
   */
  usage(): TokenUsage {
    const total = asObject(this.result?.usage);
    if (total) return fromAnthropicUsage(total);
    let usage = emptyUsage();
    for (const u of this.usageById.values()) usage = addUsage(usage, u);
    return usage;
  }

  /** The turn's response; undefined until a result event has arrived. */
  response(requestedModel: string): ModelResponse | undefined {
    const result = this.result;
    if (!result) return undefined;
    const usage = this.usage();
    const failed = result.is_error === true;
    const reported = asString(result.result);
    const said = reported === undefined ? undefined : this.redactor.text(reported);
    if (failed && this.usageById.size === 0) {
      // Nothing was done (a login problem, an unreachable API, a bad model name): its words say which.
      const detail = `${said ?? 'no message'} (${asString(result.subtype) ?? 'error'}${this.retried ? `; last retry: ${this.retried}` : ''})`;
      // Its own words first (api_error_status where given); the last retry's only when they say nothing.
      const status = asNumber(result.api_error_status);
      let classified = classifyCliMessage(`${status ?? ''} ${said ?? ''}`);
      if (classified.kind === 'server' && !classified.retryable && this.retried)
        classified = classifyCliMessage(this.retried);
      throw cliFailure(this.label, detail, classified);
    }
    const usd = asNumber(result.total_cost_usd);
    return {
      model: this.model ?? requestedModel,
      text:
        said ??
        (failed
          ? `Claude Code stopped: ${asString(result.subtype) ?? 'error'}`
          : this.redactor.text(this.lastText)),
      toolCalls: this.structuredCall(result),
      // The agent did work but did not finish (e.g. error_max_turns): the graders judge what is there.
      stopReason: failed ? 'other' : 'end_turn',
      usage,
      ...(usd === undefined ? {} : { usd }),
    };
  }

  /** The structured output as a call of the forced tool; none when it was not asked for or not given. */
  private structuredCall(result: JsonObject): ModelResponse['toolCalls'] {
    const output = asObject(result.structured_output);
    if (this.structuredAs === undefined || !output) return [];
    let input: unknown;
    try {
      // Secrets are cut out of its strings like everywhere else; a cut that broke it leaves no call.
      input = JSON.parse(this.redactor.text(JSON.stringify(output)));
    } catch {
      return [];
    }
    return [{ id: `structured-${asString(result.session_id) ?? 'output'}`, name: this.structuredAs, input }];
  }

  private assistant(message: JsonObject | undefined): void {
    if (!message) return;
    this.model ??= asString(message.model);
    const usage = asObject(message.usage);
    if (usage) {
      // Every event of one message repeats its usage: keyed by id, it counts once.
      const id = asString(message.id) ?? `unnamed-${++this.unnamed}`;
      const next = fromAnthropicUsage(usage);
      const before = this.usageById.get(id);
      this.usageById.set(id, next);
      // Before the message's tool calls, so the caps are checked against what they cost.
      if (!before || !sameUsage(before, next)) this.reportUsage();
    }
    for (const block of asArray(message.content)) {
      const b = asObject(block);
      if (b?.type === 'text') {
        const text = asString(b.text) ?? '';
        if (text.trim() === '') continue;
        this.lastText = text;
        this.onEvent?.({ kind: 'text', text });
      } else if (b?.type === 'tool_use') {
        const callId = asString(b.id) ?? `call-${this.toolNames.size + 1}`;
        const name = asString(b.name) ?? 'tool';
        this.toolNames.set(callId, name);
        this.onEvent?.({ kind: 'tool.call', callId, name, input: b.input ?? {} });
      }
    }
  }

  private reportUsage(usd?: number): void {
    this.onEvent?.({
      kind: 'usage',
      usage: this.usage(),
      ...(usd === undefined ? {} : { usd }),
      ...(this.model === undefined ? {} : { model: this.model }),
    });
  }

  private user(message: JsonObject | undefined): void {
    for (const block of asArray(message?.content)) {
      const b = asObject(block);
      if (b?.type !== 'tool_result') continue;
      const callId = asString(b.tool_use_id) ?? '';
      this.onEvent?.({
        kind: 'tool.result',
        callId,
        name: this.toolNames.get(callId) ?? 'tool',
        ok: b.is_error !== true,
        output: resultText(b.content),
      });
    }
  }
}

function sameUsage(a: TokenUsage, b: TokenUsage): boolean {
  return (
    a.input === b.input &&
    a.output === b.output &&
    a.cacheRead === b.cacheRead &&
    a.cacheWrite === b.cacheWrite &&
    a.cacheWrite1h === b.cacheWrite1h
  );
}

/** A tool result's content: a string, or text blocks. */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return asArray(content)
    .map((block) => asString(asObject(block)?.text) ?? '')
    .filter((text) => text !== '')
    .join('\n');
}

/** The tool a request forces, when it is one of its tools. */
function forcedTool(request: ModelRequest): ToolSpec | undefined {
  const choice = request.toolChoice;
  if (choice?.type !== 'tool') return undefined;
  return request.tools.find((tool) => tool.name === choice.name);
}
