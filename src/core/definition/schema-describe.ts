/**
 * Reads the zod schemas to word problems for people: what a field expects, which keys a mapping
 * allows. Only zod's public classes and parsing are used, so a schema change updates the messages.
 */
import { z } from 'zod';
import { graderSchema } from './schema.js';

type Schema = z.core.$ZodType;

/** What the values of a union of mappings are called in messages. */
const NOUNS = new Map<Schema, { one: string; many: string }>([
  [graderSchema, { one: 'a grader', many: 'graders' }],
]);

export function nounFor(union: Schema): { one: string; many: string } {
  return NOUNS.get(union) ?? { one: 'a mapping', many: 'mappings' };
}

/** Strips the wrappers that only supply defaults or allow absence. */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap();
    } else {
      return current;
    }
  }
}

/** Chooses the member of a union that the value at `depth` steps into the path was meant to be. */
export type UnionPicker = (union: z.ZodUnion, depth: number) => Schema | undefined;

/** The schema that validates the value at `path`; unions are entered through `pick`. */
export function schemaAt(root: Schema, path: readonly PropertyKey[], pick?: UnionPicker): Schema | undefined {
  let current: Schema = unwrap(root);
  for (const [depth, segment] of path.entries()) {
    if (current instanceof z.ZodUnion) {
      const member = pick?.(current, depth);
      if (member === undefined) return undefined;
      current = unwrap(member);
    }
    let next: Schema | undefined;
    if (current instanceof z.ZodObject && typeof segment === 'string') {
      next = (current.shape as Record<string, Schema>)[segment];
    } else if (current instanceof z.ZodArray && typeof segment === 'number') {
      next = current.element;
    } else if (current instanceof z.ZodRecord) {
      next = current.valueType;
    }
    if (next === undefined) return undefined;
    current = unwrap(next);
  }
  return current;
}

export function allowedKeys(schema: Schema): string[] {
  const inner = unwrap(schema);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

/** Keys that must be written (no default, not optional). */
export function requiredKeys(schema: Schema): string[] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) return [];
  const shape = inner.shape as Record<string, Schema>;
  return Object.keys(shape).filter((key) => {
    const field = shape[key];
    return field !== undefined && !z.safeParse(field, undefined).success;
  });
}

/** "a positive whole number", "one of: nudge, pause, stop", ... */
export function describeExpected(schema: Schema): string | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodString) return inner.format === 'url' ? 'a URL' : 'text';
  if (inner instanceof z.ZodNumber) return describeNumber(inner);
  if (inner instanceof z.ZodBoolean) return 'true or false';
  if (inner instanceof z.ZodEnum) return `one of: ${inner.options.join(', ')}`;
  if (inner instanceof z.ZodLiteral) return inner.values.size === 1 ? JSON.stringify(inner.value) : undefined;
  if (inner instanceof z.ZodArray) return `a list of ${describePlural(inner.element)}`;
  if (inner instanceof z.ZodRecord) return 'a mapping of names to text';
  if (inner instanceof z.ZodObject) return `a mapping (keys: ${allowedKeys(inner).join(', ')})`;
  if (inner instanceof z.ZodUnion) {
    const objects = objectOptions(inner);
    if (objects.length >= 2)
      return `${nounFor(inner).one}: a mapping with one of ${markerKeys(objects).join(', ')}`;
    const parts = inner.options.map((option) => describeExpected(option));
    return parts.every((part) => part !== undefined) ? parts.join(' or ') : undefined;
  }
  return undefined;
}

/** The items of a list: "text", "graders (each a mapping with one of ...)". */
function describePlural(element: Schema): string {
  const inner = unwrap(element);
  if (inner instanceof z.ZodString) return 'text';
  if (inner instanceof z.ZodEnum) return `names, each one of: ${inner.options.join(', ')}`;
  if (inner instanceof z.ZodObject) return `mappings (keys: ${allowedKeys(inner).join(', ')})`;
  if (inner instanceof z.ZodUnion) {
    const objects = objectOptions(inner);
    if (objects.length >= 2) {
      return `${nounFor(inner).many}, each a mapping with one of ${markerKeys(objects).join(', ')}`;
    }
  }
  return `items, each ${describeExpected(inner) ?? 'of the right form'}`;
}

export function objectOptions(union: z.ZodUnion): Schema[] {
  return union.options.map(unwrap).filter((option) => option instanceof z.ZodObject);
}

/** The keys that tell a union's mappings apart: each member's required keys that no other member requires. */
export function markerKeys(objects: readonly Schema[]): string[] {
  return objects.flatMap((option) => distinctRequiredKeys(option, objects));
}

export function distinctRequiredKeys(option: Schema, all: readonly Schema[]): string[] {
  const others = all.filter((other) => other !== option).flatMap(requiredKeys);
  return requiredKeys(option).filter((key) => !others.includes(key));
}

function describeNumber(schema: z.ZodNumber): string {
  const noun = schema.isInt ? 'whole number' : 'number';
  const min = bound(schema.minValue);
  const max = bound(schema.maxValue);
  if (min === 0 && max === undefined && !schema.safeParse(0).success) return `a positive ${noun}`;
  if (min !== undefined && max !== undefined) return `a ${noun} from ${min} to ${max}`;
  if (min !== undefined) return `a ${noun} of at least ${min}`;
  if (max !== undefined) return `a ${noun} of at most ${max}`;
  return `a ${noun}`;
}

/** zod gives whole numbers the safe-integer range as bounds; those are no bound to a person. */
function bound(value: number | null): number | undefined {
  return value !== null && Math.abs(value) < Number.MAX_SAFE_INTEGER ? value : undefined;
}

/** How a value from the YAML reads in a message: strings quoted, collections named. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

/** "expected a positive number, got "lots""; a semicolon when the expectation is itself a list. */
export function expectedGot(expected: string, value: unknown): string {
  return `expected ${expected}${expected.includes(',') ? ';' : ','} got ${describeValue(value)}`;
}
