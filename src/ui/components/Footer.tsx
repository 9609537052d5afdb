import { Box, Text } from 'ink';
import type { JSX } from 'react';
import { BINDINGS, type OverlayKind, type PaneId } from '../keymap.js';
import type { PromptPurpose } from '../screen.js';
import { theme } from '../theme.js';

/** The hints for where the keys go now, generated from the keymap. */
export function hints(context: { overlay?: OverlayKind; pane: PaneId }): string {
  const shown = BINDINGS.filter((binding) =>
    context.overlay !== undefined
      ? typeof binding.scope === 'object' && binding.scope.overlay === context.overlay
      : binding.scope === 'global' || binding.scope === context.pane,
  );
  // A pane's own binding replaces the global one on the same key.
  const paneKeys = new Set(shown.filter((b) => b.scope === context.pane).flatMap((b) => b.keys));
  return shown
    .filter((b) => b.scope !== 'global' || !b.keys.some((k) => paneKeys.has(k)))
    .map((binding) => `${binding.keys[0] ?? ''} ${binding.label}`)
    .join('  ');
}

export interface PromptView {
  purpose: PromptPurpose;
  text: string;
}

function promptLabel(purpose: PromptPurpose): string {
  if (purpose.type === 'deny') return `deny ${purpose.approval.tool} for ${purpose.approval.loop}, reason`;
  if (purpose.type === 'reject') return `reject the proposal for ${purpose.file}, reason`;
  return purpose.now ? `! interrupt ${purpose.loop} now` : `: instruct ${purpose.loop}`;
}

/** Two lines: the prompt or a notice, then the key hints. */
export function Footer(props: { prompt?: PromptView; notice?: string; hints: string }): JSX.Element {
  return (
    <Box flexDirection="column" height={2} flexShrink={0}>
      {props.prompt === undefined ? (
        <Text wrap="truncate-end" color={theme.warn}>
          {props.notice ?? ' '}
        </Text>
      ) : (
        <Text wrap="truncate-start">
          <Text color={theme.human}>{promptLabel(props.prompt.purpose)} › </Text>
          {props.prompt.text}
          <Text inverse> </Text>
          <Text color={theme.muted}> (enter send · esc cancel)</Text>
        </Text>
      )}
      <Text wrap="truncate-end" color={theme.muted}>
        {props.hints}
      </Text>
    </Box>
  );
}
