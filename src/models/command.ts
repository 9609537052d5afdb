/**
 * Any CLI as a provider (`agent.command` in LOOP.md): one complete() runs it once in the worktree. The
 * prompt goes on stdin, unless an argument is exactly "{prompt}", which is replaced by it. Whatever it
 * prints on stdout is the response, streamed into the trace as it comes.
 *
 * Such a command reports no usage, so the tokens are counted here and the response is marked
 * `estimated`: budgets see them, but the call stays unpriced rather than $0.
 */
import { exitError, runCli } from './cli-process.js';
import { renderPrompt } from './cli-prompt.js';
import { ProviderError, type ModelProvider, type ModelRequest, type ModelResponse } from './provider.js';
import { countTokens } from './tokens.js';

export const PROMPT_PLACEHOLDER = '{prompt}';

export interface CommandProviderOptions {
  /** agent.command: the program, then its arguments. */
  command: readonly string[];
  /** The child's whole environment. */
  env: NodeJS.ProcessEnv;
}

export class CommandProvider implements ModelProvider {
  readonly name = 'command';
  private readonly file: string;
  private readonly args: readonly string[];

  constructor(private readonly opts: CommandProviderOptions) {
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
      env: this.opts.env,
      ...(onStdin ? { input: prompt } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
      missingHint: 'check agent.command in LOOP.md',
      onLine: (line) => {
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
