/**
 * Codex as a provider: one complete() is one whole agent turn of `codex exec --json`, run in the
 * worktree with a sandbox that may write there. Its commands, file changes and MCP calls reach the
 * trace through request.onEvent; its last agent message is the response text.
 *
 * Usage comes from turn.completed, whose input_tokens include the cached ones (OpenAI's convention), so
 * the cached part is taken out of input. It is reported through onEvent as each turn completes, the
 * only usage `codex exec --json` gives: a session stopped before then used tokens no one can know.
 * Codex reports no cost: the price table prices the call.
 *
 * Codex gets the scrubbed environment plus its own variables (cli-env.ts); whatever it reports has the
 * user's secrets cut out before it is emitted.
 *
 * Failures are Codex's own words: a fatal `error` event or `turn.failed` ends the call with a
 * ProviderError of the kind the words say (cli-failure.ts), and a Codex that does not exit after it is
 * stopped (cli-process.ts). Its `error` events are not all fatal: "Reconnecting... 2/5" is a retry in
 * progress, and an error followed by more work was a warning. agent.base_url reaches Codex as its
 * `openai_base_url` setting (current Codex no longer reads OPENAI_BASE_URL) and is checked for a
 * listener first (cli-endpoint.ts).
 */
import type { TokenUsage } from '../core/events.js';
import { addUsage, emptyUsage } from '../core/events.js';
import { cliEnv, CODEX_ENV, Redactor } from './cli-env.js';
import { EndpointCheck } from './cli-endpoint.js';
import { cliFailure, type CliFailureLabel, type Endpoint } from './cli-failure.js';
import { exitError, runCli, type LineVerdict } from './cli-process.js';
import { promptFitsArgument, renderPrompt } from './cli-prompt.js';
import { asArray, asNumber, asObject, asString, parseJsonLine, type JsonObject } from './json-lines.js';
import {
  ProviderError,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type ProviderEvent,
} from './provider.js';

export interface CodexProviderOptions {
  /** The user's environment; the child gets it without credentials, except Codex's own. */
  env: NodeJS.ProcessEnv;
  /** The executable; `codex` on PATH by default. */
  executable?: string;
  /** Variables the loop passes through on purpose (`sandbox: { env: [...] }`). */
  passEnv?: Record<string, string>;
  /** agent.base_url: the OpenAI-compatible endpoint Codex's built-in provider is to use. */
  baseUrl?: string;
  /** How long Codex may go on after an error event before it is stopped (cli-process.ts). */
  failingGraceMs?: number;
}

/** An `error` event for a retry Codex is making, not the end of the turn. */
const RETRYING = /^\s*(reconnecting|retrying)\b/i;

/** DEFAULT_MODELS.codex: let Codex choose. */
const DEFAULT_MODEL = 'default';

/** The item types that are tool calls, as the trace names them. */
const TOOL_ITEMS = new Set(['command_execution', 'file_change', 'mcp_tool_call']);

export class CodexProvider implements ModelProvider {
  readonly name = 'codex';
  private readonly file: string;
  private readonly env: Record<string, string>;
  private readonly redactor: Redactor;
  private readonly endpoint: Endpoint | undefined;
  private readonly label: CliFailureLabel;
  private readonly endpointCheck: EndpointCheck;
  private readonly failingGraceMs: number | undefined;

  constructor(opts: CodexProviderOptions) {
    this.file = opts.executable ?? 'codex';
    this.endpoint = opts.baseUrl ? { url: opts.baseUrl, source: 'agent.base_url' } : undefined;
    this.env = {
      ...cliEnv(opts.env, CODEX_ENV),
      ...opts.passEnv,
      // Older Codex reads only the variable; newer only the setting (passed in the arguments).
      ...(this.endpoint ? { OPENAI_BASE_URL: this.endpoint.url } : {}),
    };
    this.redactor = new Redactor(opts.env);
    this.failingGraceMs = opts.failingGraceMs;
    this.label = {
      provider: this.name,
      title: 'Codex',
      login: 'OPENAI_API_KEY or `codex login`',
      ...(this.endpoint ? { endpoint: this.endpoint } : {}),
    };
    // Checked once per run, not per call.
    this.endpointCheck = new EndpointCheck(this.label, opts.env);
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    await this.endpointCheck.check(request.signal);
    const prompt = renderPrompt(request);
    const asArgument = promptFitsArgument(prompt);
    const args = [
      'exec',
      '--json',
      // Codex's own sandbox: the worktree is the agent's to change, nothing outside it, no network.
      '--sandbox',
      'workspace-write',
      // A TOML string; a URL holds nothing JSON would escape differently.
      ...(this.endpoint ? ['-c', `openai_base_url=${JSON.stringify(this.endpoint.url)}`] : []),
      ...(request.model === DEFAULT_MODEL ? [] : ['-m', request.model]),
      // "-" makes codex read the prompt from stdin.
      asArgument ? prompt : '-',
    ];
    const stream = new CodexStream(request.onEvent, this.redactor);
    const exit = await runCli({
      provider: this.name,
      file: this.file,
      args,
      cwd: request.cwd,
      env: this.env,
      redactor: this.redactor,
      ...(asArgument ? {} : { input: prompt }),
      ...(request.signal ? { signal: request.signal } : {}),
      missingHint: 'install Codex (npm install -g @openai/codex) or use provider openai',
      onLine: (line) => stream.line(line),
      ...(this.failingGraceMs === undefined ? {} : { failingGraceMs: this.failingGraceMs }),
    });
    const failure = stream.failureMessage();
    if (failure !== undefined && !stream.completed) throw cliFailure(this.label, failure);
    if (exit.exitCode !== 0 && !exit.ended) {
      throw exitError({ provider: this.name, file: this.file }, exit, this.label);
    }
    if (!stream.completed) {
      throw new ProviderError(
        'malformed',
        `\`${this.file}\` ended without a turn.completed event; check that it is Codex and supports exec --json`,
        this.name,
      );
    }
    return {
      model: request.model,
      text: stream.text,
      toolCalls: [],
      stopReason: 'end_turn',
      usage: stream.usage,
    };
  }
}

/** The --json events of one `codex exec` run, folded as they arrive. */
export class CodexStream {
  usage: TokenUsage = emptyUsage();
  text = '';
  completed = false;
  /** turn.failed's message. */
  failure: string | undefined;
  /** The last fatal-looking `error` event's message. */
  error: string | undefined;
  private readonly announced = new Set<string>();
  private readonly onEvent: ((event: ProviderEvent) => void) | undefined;

  /** `redactor` cuts secrets out of every event, the text and the failure. */
  constructor(
    onEvent?: (event: ProviderEvent) => void,
    private readonly redactor = new Redactor({}),
  ) {
    this.onEvent = redactor.events(onEvent);
  }

  /** What the turn failed with: turn.failed's words, unless they say less than an error event did. */
  failureMessage(): string | undefined {
    if (this.failure !== undefined && !/^(the )?turn failed$/i.test(this.failure.trim())) return this.failure;
    return this.error ?? this.failure;
  }

  /** Folds one line in; says whether Codex is done, failing or working (cli-process.ts). */
  line(text: string): LineVerdict {
    const event = parseJsonLine(text);
    if (!event) return undefined;
    switch (event.type) {
      case 'turn.completed':
        this.completed = true;
        this.usage = addUsage(this.usage, turnUsage(asObject(event.usage)));
        this.onEvent?.({ kind: 'usage', usage: this.usage });
        return 'done';
      case 'turn.failed':
        this.failure = this.redactor.text(asString(asObject(event.error)?.message) ?? 'the turn failed');
        return 'done';
      case 'error': {
        const message = this.redactor.text(asString(event.message) ?? 'an error with no message');
        // A retry in progress; Codex may add will_retry to say so (openai/codex#32984).
        if (event.will_retry === true || RETRYING.test(message)) return 'working';
        this.error = message;
        return 'failing';
      }
      case 'item.started':
        this.started(asObject(event.item));
        return 'working';
      case 'item.updated':
        return 'working';
      case 'item.completed':
        this.finished(asObject(event.item));
        return 'working';
      default:
        return undefined;
    }
  }

  private started(item: JsonObject | undefined): void {
    if (item && TOOL_ITEMS.has(String(item.type))) this.announce(item);
  }

  private finished(item: JsonObject | undefined): void {
    if (!item) return;
    if (item.type === 'agent_message') {
      const text = asString(item.text) ?? '';
      if (text.trim() === '') return;
      this.text = this.redactor.text(text);
      this.onEvent?.({ kind: 'text', text });
      return;
    }
    if (!TOOL_ITEMS.has(String(item.type))) return;
    const call = this.announce(item);
    this.onEvent?.({ kind: 'tool.result', ...call, ...toolResult(item) });
  }

  /** The tool.call for an item, sent once whether or not its item.started was seen. */
  private announce(item: JsonObject): { callId: string; name: string } {
    const callId = asString(item.id) ?? `item-${this.announced.size + 1}`;
    const { name, input } = toolCall(item);
    if (!this.announced.has(callId)) {
      this.announced.add(callId);
      this.onEvent?.({ kind: 'tool.call', callId, name, input });
    }
    return { callId, name };
  }
}

function turnUsage(usage: JsonObject | undefined): TokenUsage {
  const input = asNumber(usage?.input_tokens) ?? 0;
  const cached = asNumber(usage?.cached_input_tokens) ?? 0;
  const out: TokenUsage = {
    input: Math.max(0, input - cached),
    output: asNumber(usage?.output_tokens) ?? 0,
    cacheRead: cached,
    cacheWrite: 0,
  };
  const reasoning = asNumber(usage?.reasoning_output_tokens) ?? 0;
  if (reasoning > 0) out.reasoning = reasoning;
  return out;
}

function toolCall(item: JsonObject): { name: string; input: unknown } {
  switch (item.type) {
    case 'command_execution':
      return { name: 'command', input: { command: asString(item.command) ?? '' } };
    case 'file_change':
      return { name: 'file_change', input: { changes: asArray(item.changes) } };
    default:
      return {
        name: `${asString(item.server) ?? 'mcp'}.${asString(item.tool) ?? 'tool'}`,
        input: item.arguments ?? {},
      };
  }
}

function toolResult(item: JsonObject): { ok: boolean; output: string } {
  const status = asString(item.status);
  switch (item.type) {
    case 'command_execution': {
      const exitCode = asNumber(item.exit_code);
      return {
        ok: status !== 'failed' && (exitCode === undefined || exitCode === 0),
        output: asString(item.aggregated_output) ?? '',
      };
    }
    case 'file_change':
      return {
        ok: status !== 'failed',
        output: asArray(item.changes)
          .map((change) => {
            const c = asObject(change);
            return `${asString(c?.kind) ?? 'change'} ${asString(c?.path) ?? '?'}`;
          })
          .join('\n'),
      };
    default: {
      const error = asString(asObject(item.error)?.message) ?? asString(item.error);
      if (error !== undefined) return { ok: false, output: error };
      return { ok: status !== 'failed', output: JSON.stringify(item.result ?? null) };
    }
  }
}
