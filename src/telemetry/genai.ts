/**
 * OpenTelemetry GenAI semantic-convention names (Development status, late 2026), kept as constants of
 * our own: the npm package marks its gen_ai constants deprecated while the names still move.
 */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestStream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  /** Includes cached tokens: the cache counts below are subsets of it. */
  usageInput: 'gen_ai.usage.input_tokens',
  usageOutput: 'gen_ai.usage.output_tokens',
  usageCacheRead: 'gen_ai.usage.cache_read.input_tokens',
  usageCacheWrite: 'gen_ai.usage.cache_write.input_tokens',
  /** The name before the rename; Langfuse and Phoenix still read it, so both are emitted for now. */
  usageCacheCreationLegacy: 'gen_ai.usage.cache_creation.input_tokens',
  usageReasoning: 'gen_ai.usage.reasoning.output_tokens',
  conversationId: 'gen_ai.conversation.id',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
  outputMessages: 'gen_ai.output.messages',
  evaluationResult: 'gen_ai.evaluation.result',
  evaluationName: 'gen_ai.evaluation.name',
  evaluationScoreValue: 'gen_ai.evaluation.score.value',
  evaluationScoreLabel: 'gen_ai.evaluation.score.label',
  evaluationExplanation: 'gen_ai.evaluation.explanation',
  errorType: 'error.type',
} as const;

/** Our provider names as the conventions' well-known values (others pass through as they are). */
export function providerName(provider: string): string {
  if (provider === 'claude-code') return 'anthropic';
  if (provider === 'codex') return 'openai';
  return provider;
}
