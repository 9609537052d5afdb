/**
 * zod reports a failed union as "Invalid input" with every member's errors. People write a union value
 * meaning one member, told apart by a key only that member requires (a grader's command, rubric, metric
 * or checker): pick that member, so its own errors can be reported, or say which key is missing.
 */
import type { z } from 'zod';
import {
  describeExpected,
  expectedGot,
  distinctRequiredKeys,
  markerKeys,
  nounFor,
  objectOptions,
} from './schema-describe.js';

type Schema = z.core.$ZodType;

export type UnionChoice = { kind: 'member'; schema: Schema } | { kind: 'problem'; message: string };

export function resolveUnion(union: z.ZodUnion, value: unknown): UnionChoice {
  const objects = objectOptions(union);
  const isMapping = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isMapping || objects.length === 0) {
    return {
      kind: 'problem',
      message: expectedGot(describeExpected(union) ?? 'another form', value),
    };
  }
  const [single] = objects;
  if (objects.length === 1 && single !== undefined) return { kind: 'member', schema: single };

  const noun = nounFor(union).one;
  const present = Object.keys(value);
  const markers = markerKeys(objects);
  const matching = objects.filter((option) =>
    distinctRequiredKeys(option, objects).some((key) => present.includes(key)),
  );
  const [only] = matching;
  if (matching.length === 1 && only !== undefined) return { kind: 'member', schema: only };
  if (matching.length === 0) {
    const found = present.length === 0 ? 'it is empty' : `found: ${present.join(', ')}`;
    return { kind: 'problem', message: `${noun} needs one of: ${markers.join(', ')} (${found})` };
  }
  const clashing = markers.filter((key) => present.includes(key));
  return {
    kind: 'problem',
    message: `${noun} has only one of: ${markers.join(', ')}; this one has ${clashing.join(' and ')} (make an entry for each)`,
  };
}
