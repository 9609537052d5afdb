/**
 * Telemetry for a supervisor: nothing at all (not even the SDK's import) unless the OpenTelemetry
 * endpoint variables ask for it.
 */
import type { LoopDefinition } from '../core/definition/schema.js';
import type { RunObserver } from '../core/run/observers.js';
import { exportTarget } from './target.js';
import { loopsVersion } from './version.js';

export interface Telemetry {
  observer(definition: LoopDefinition): RunObserver;
  shutdown(): Promise<void>;
}

export async function openTelemetry(
  env: NodeJS.ProcessEnv,
  onError: (error: unknown) => void,
): Promise<Telemetry | undefined> {
  const target = exportTarget(env);
  if (!target) return undefined;
  const { LiveExport } = await import('./live.js');
  return new LiveExport(target, loopsVersion(), onError);
}
