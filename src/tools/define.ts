/**
 * One way to make a tool: a zod schema that both validates the model's input and, as JSON Schema,
 * tells the model what to send. A tool built here never throws; every failure is a result.
 */
import { z } from 'zod';
import type { JsonSchema } from '../models/provider.js';
import { describeToolError } from './errors.js';
import type { Tool, ToolContext, ToolResult } from './types.js';

export interface ToolDefinition<S extends z.ZodType> {
  name: string;
  description: string;
  input: S;
  run(input: z.output<S>, ctx: ToolContext): Promise<ToolResult>;
}

export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  // `io: 'input'` so fields with defaults are shown as optional, which is what the model may send.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' });
  return rest;
}

export function defineTool<S extends z.ZodType>(def: ToolDefinition<S>): Tool {
  return {
    spec: { name: def.name, description: def.description, inputSchema: jsonSchemaOf(def.input) },
    async execute(input: unknown, ctx: ToolContext): Promise<ToolResult> {
      const parsed = def.input.safeParse(input ?? {});
      if (!parsed.success) {
        return {
          ok: false,
          output: `invalid input for ${def.name}:\n${z.prettifyError(parsed.error)}\nsend an object matching the tool's input schema`,
        };
      }
      try {
        return await def.run(parsed.data, ctx);
      } catch (error) {
        return { ok: false, output: `${def.name} failed: ${describeToolError(error, pathOf(parsed.data))}` };
      }
    },
  };
}

function pathOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || !('path' in input)) return undefined;
  return typeof input.path === 'string' ? input.path : undefined;
}

/** A string field that must name something: empty strings are rejected with a reason. */
export const pathField = (what: string) => z.string().min(1, `${what} must not be empty`);
