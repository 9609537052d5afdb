/**
 * One prompt for a CLI agent, which takes text rather than a conversation: the stable prefix (task,
 * skills, rules), then the turn's text. A conversation of several messages (a `!` interrupt, a judge
 * reading a transcript) is written out with who said what.
 */
import type { Message, ModelRequest } from './provider.js';

export function renderPrompt(request: Pick<ModelRequest, 'system' | 'messages'>): string {
  const parts: string[] = [];
  if (request.system.trim() !== '') parts.push(request.system.trim());
  const single = request.messages.length === 1;
  for (const message of request.messages) {
    const text = messageText(message);
    if (text === '') continue;
    parts.push(single ? text : `## ${message.role === 'user' ? 'User' : 'Assistant'}\n\n${text}`);
  }
  return parts.join('\n\n');
}

function messageText(message: Message): string {
  const pieces: string[] = [];
  for (const part of message.content) {
    if (part.type === 'text') {
      if (part.text.trim() !== '') pieces.push(part.text.trim());
    } else if (part.type === 'tool_result') {
      pieces.push(`[result of ${part.toolUseId}${part.isError ? ', failed' : ''}]\n${part.content}`);
    } else {
      pieces.push(`[called ${part.name} ${JSON.stringify(part.input ?? {})}]`);
    }
  }
  return pieces.join('\n\n');
}

/**
 * Linux caps one argument at 128 KiB; a longer prompt, or one an option parser would take for a flag,
 * goes on stdin instead.
 */
export function promptFitsArgument(prompt: string): boolean {
  return Buffer.byteLength(prompt) <= 100_000 && !prompt.startsWith('-');
}
