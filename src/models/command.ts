/**
 * Any CLI as a provider (`agent.command` in LOOP.md): one complete() runs it once in the worktree. The
 * prompt goes on stdin, unless an argument is exactly "{prompt}", which is replaced by it. Whatever it
 * prints on stdout is the response, streamed into the trace as it comes.
 *
 * Such a command reports no usage, so the tokens are counted here, as the output streams, and reported
 * as the call's usage so far: the tokens cap stops a command that prints without end. The response is
 * marked `estimated`: budgets see the tokens, but the call stays unpriced rather than $0. Its text is
 * bounded (its head and its tail are kept), however much the command printed.
 *
 * The command gets the environment the `run` tool gets, without credentials (it brings its own
 * configuration or none), and the user's secrets are cut out of what it prints.
 */
import { cliEnv, Redactor } from './cli-env.js';
import { exitError, runCli, type CliExit } from './cli-process.js';
import { renderPrompt } from './cli-prompt.js';
import { ProviderError, type ModelProvider, type ModelRequest, type ModelResponse } from './provider.js';
import { countTokens } from './tokens.js';
import type { Sandbox } from '../process/sandbox.js';
import type { TokenUsage } from '../core/events.js';

export const PROMPT_PLACEHOLDER = '{prompt}';

/** The response text keeps this much of what the command printed: its head and its tail. */
export const RESPONSE_CHARS = 100_000;
/** Output tokens counted between two usage reports: how far a command may pass the tokens cap. */
const REPORT_EVERY_TOKENS = 256;
/** Text is counted in slices this long: a tokenizer slows badly on one huge unbroken run. */
const COUNT_SLICE_CHARS = 2_000;

export interface CommandProviderOptions {
  /** agent.command: the program, then its arguments. */
  command: readonly string[];
  /** The user's environment; the child gets it without credentials. */
  env: NodeJS.ProcessEnv;
  /** The run's sandbox: the command runs the agent's tools, so it is confined like the run tool. */
  sandbox?: Sandbox;
}

export class CommandProvider implements ModelProvider {
  readonly name = 'command';
  private readonly file: string;
  private readonly args: readonly string[];
  private readonly env: Record<string, string>;
  private readonly redactor: Redactor;
  private readonly sandbox: Sandbox | undefined;

  constructor(opts: CommandProviderOptions) {
    this.sandbox = opts.sandbox;
    const [file, ...args] = opts.command;
    if (file === undefined || file.trim() === '') {
      throw new ProviderError(
        'config',
        `provider command needs agent.command in LOOP.md: the program and its arguments, ` +
          `e.g. command: [my-agent, --print, "${PROMPT_PLACEHOLDER}"]`,
        this.name,
      );
    }
    this.file = file;
    this.args = args;
    this.env = cliEnv(opts.env, []);
    this.redactor = new Redactor(opts.env);
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const prompt = renderPrompt(request);
    const onStdin = !this.args.includes(PROMPT_PLACEHOLDER);
    const args = this.args.map((arg) => (arg === PROMPT_PLACEHOLDER ? prompt : arg));
    const output = new CountedOutput(countTokens(prompt), (usage) =>
      request.onEvent?.({ kind: 'usage', usage }),
    );
    let exit: CliExit;
    try {
      exit = await runCli({
        provider: this.name,
        file: this.file,
        args,
        cwd: request.cwd,
        env: this.env,
        redactor: this.redactor,
        ...(onStdin ? { input: prompt } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        missingHint: 'check agent.command in LOOP.md',
        ...(this.sandbox ? { sandbox: this.sandbox } : {}),
        onLine: (raw) => {
          const line = this.redactor.text(raw);
          output.line(line);
          request.onText?.(`${line}\n`);
        },
      });
    } finally {
      // Stopped or not, everything it printed is counted in what the call used.
      output.report();
    }
    if (exit.exitCode !== 0) throw exitError({ provider: this.name, file: this.file }, exit);
    return {
      model: request.model,
      text: output.text(),
      toolCalls: [],
      stopReason: 'end_turn',
      usage: output.usage(),
      estimated: true,
    };
  }
}

/**
 * A command's output as it streams: every line's tokens counted (the whole output, not just what is
 * kept), reported as a running total every REPORT_EVERY_TOKENS, and the text kept within
 * RESPONSE_CHARS (its head, and a rolling tail).
 */
class CountedOutput {
  private output = 0;
  private reported = 0;
  private head = '';
  private tail = '';
  private total = 0;

  constructor(
    private readonly input: number,
    private readonly onUsage: (usage: TokenUsage) => void,
  ) {}

  line(line: string): void {
    const text = this.total === 0 ? line : `\n${line}`;
    this.total += text.length;
    this.keep(text);
    for (let i = 0; i < text.length; i += COUNT_SLICE_CHARS) {
      this.output += countTokens(text.slice(i, i + COUNT_SLICE_CHARS));
    }
    if (this.output - this.reported >= REPORT_EVERY_TOKENS) this.report();
  }

  usage(): TokenUsage {
    return { input: this.input, output: this.output, cacheRead: 0, cacheWrite: 0 };
  }

  report(): void {
    this.reported = this.output;
    this.onUsage(this.usage());
  }

  text(): string {
    const half = RESPONSE_CHARS / 2;
    if (this.total <= RESPONSE_CHARS) return (this.head + this.tail).trim();
    const tail = this.tail.slice(-half);
    const cut = this.total - this.head.length - tail.length;
    return `${this.head}\n[… ${cut} chars of output cut …]\n${tail}`.trim();
  }

  private keep(text: string): void {
    const half = RESPONSE_CHARS / 2;
    let rest = text;
    if (this.head.length < half) {
      const room = half - this.head.length;
      this.head += rest.slice(0, room);
      rest = rest.slice(room);
    }
    if (rest === '') return;
    this.tail += rest;
    // Trimmed at twice its size, so many small lines do not copy the tail each time.
    if (this.tail.length > half * 2) this.tail = this.tail.slice(-half);
  }
}
