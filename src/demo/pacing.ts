/** Slows a provider down so a person can watch the demo's scripted model work. */
import type { ModelProvider, ModelRequest, ModelResponse } from '../models/provider.js';
import { ProviderError } from '../models/provider.js';

export function paced(provider: ModelProvider, delayMs: number): ModelProvider {
  if (delayMs <= 0) return provider;
  return {
    name: provider.name,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, delayMs);
        request.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(new ProviderError('aborted', 'the call was aborted', provider.name));
          },
          { once: true },
        );
      });
      return provider.complete(request);
    },
  };
}
