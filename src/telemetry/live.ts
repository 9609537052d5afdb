/**
 * Live export of runs over OTLP/HTTP (JSON) with the official OpenTelemetry exporter, when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. Spans leave as they
 * finish through a batch processor; a collector that is down costs the run nothing and is reported
 * once, never onto the screen.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { RunObserver } from '../core/run/observers.js';
import type { LoopDefinition } from '../core/definition/schema.js';
import { SpanBuilder } from './spans.js';
import type { ExportTarget } from './target.js';

export class LiveExport {
  private readonly processor: BatchSpanProcessor;

  constructor(
    target: ExportTarget,
    private readonly version: string,
    private readonly onError: (error: unknown) => void,
  ) {
    const exporter = new OTLPTraceExporter({
      url: target.url,
      headers: target.headers,
      timeoutMillis: 5_000,
    });
    this.processor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 });
  }

  /** One run's observer: its spans are handed to the exporter as they finish. */
  observer(definition: LoopDefinition): RunObserver {
    const spans = new SpanBuilder({ content: definition.telemetry.content, serviceVersion: this.version });
    return {
      observe: (event) => {
        for (const span of spans.add(event)) this.processor.onEnd(span);
      },
      // The run's ending must not wait for a slow collector: its spans leave in the background,
      // and the supervisor's shutdown waits for them.
      close: () => {
        void this.flush();
        return Promise.resolve();
      },
    };
  }

  async flush(): Promise<void> {
    try {
      await this.processor.forceFlush();
    } catch (err) {
      this.onError(err);
    }
  }

  async shutdown(): Promise<void> {
    try {
      await this.processor.shutdown();
    } catch (err) {
      this.onError(err);
    }
  }
}
