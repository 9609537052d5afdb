/** The parsed config of each grader kind (the schema exports the command grader's only). */
import type { z } from 'zod';
import type {
  checkerGraderSchema,
  commandGraderSchema,
  metricGraderSchema,
  rubricGraderSchema,
} from '../definition/schema.js';

export type CommandGraderConfig = z.output<typeof commandGraderSchema>;
export type RubricGraderConfig = z.output<typeof rubricGraderSchema>;
export type MetricGraderConfig = z.output<typeof metricGraderSchema>;
export type CheckerGraderConfig = z.output<typeof checkerGraderSchema>;
