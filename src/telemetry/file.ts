/** `loops trace NAME RUN --otlp FILE`: a recorded run as one OTLP/JSON export request. */
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { LoopEvent } from '../core/events.js';
import { spansOf } from './spans.js';

export function otlpJson(
  events: readonly LoopEvent[],
  options: { content: boolean; serviceVersion: string },
): string {
  const bytes = JsonTraceSerializer.serializeRequest(spansOf(events, options));
  if (!bytes) throw new Error('the spans could not be serialized as OTLP JSON');
  return Buffer.from(bytes).toString('utf8');
}
