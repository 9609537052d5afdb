/**
 * Any CLI as a provider (`agent.command` in LOOP.md): one complete() runs it once in the worktree. The
 * prompt goes on stdin, unless an argument is exactly "{prompt}", which is replaced by it. Whatever it
 * prints on stdout is the response, streamed into the trace as it comes.
 *
 * Such a command reports no usage, so the tokens are counted here and the response is marked
 * `estimated`: budgets see them, but the call stays unpriced rather than $0.
 *
 * The command gets the environment the `run` tool gets, without credentials (it brings its own
 * configuration or none), and the user's secrets are cut out of what it prints.
 */
import { cliEnv, Redactor } from './cli-env.js';
import { exitError, runCli } from './cli-process.js';
import { renderPrompt } from './cli-prompt.js';
import { ProviderError, type ModelProvider, type ModelRequest, type ModelResponse } from './provider.js';
import { countTokens } from './tokens.js';
import type { Sandbox } from '../process/sandbox.js';

export const PROMPT_PLACEHOLDER = '{prompt}';

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
    const lines: string[] = [];
    const exit = await runCli({
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
        lines.push(line);
        request.onText?.(`${line}\n`);
      },
    });
    if (exit.exitCode !== 0) throw exitError({ provider: this.name, file: this.file }, exit);
    const text = lines.join('\n').trim();
    return {
      model: request.model,
      text,
      toolCalls: [],
      stopReason: 'end_turn',
      usage: { input: countTokens(prompt), output: countTokens(text), cacheRead: 0, cacheWrite: 0 },
      estimated: true,
    };
  }
}
