/** The tools a loop's agent gets, and the one place a model's tool call is carried out. */
import type { ToolCallRecord } from '../core/events.js';
import type { ToolName } from '../core/definition/schema.js';
import { editFileTool } from './edit-file.js';
import { describeToolError } from './errors.js';
import { listFilesTool } from './list-files.js';
import { readFileTool } from './read-file.js';
import { runTool } from './run.js';
import { searchTool } from './search.js';
import type { Tool, ToolContext, ToolResult } from './types.js';
import { writeFileTool } from './write-file.js';

const BUILTIN: Record<ToolName, Tool> = {
  read_file: readFileTool,
  write_file: writeFileTool,
  edit_file: editFileTool,
  list_files: listFilesTool,
  search: searchTool,
  run: runTool,
};

/** The named tools, in the order given, each once. */
export function createToolbox(names: readonly ToolName[]): Tool[] {
  return [...new Set(names)].map((name) => BUILTIN[name]);
}

/** Never throws: an unknown tool, bad input or a failure is a result the model can read and act on. */
export async function executeTool(
  tools: readonly Tool[],
  call: ToolCallRecord,
  ctx: ToolContext,
): Promise<ToolResult> {
  const tool = tools.find((candidate) => candidate.spec.name === call.name);
  if (!tool) {
    const available = tools.map((candidate) => candidate.spec.name).join(', ') || 'none';
    return { ok: false, output: `unknown tool "${call.name}"; the tools you have are: ${available}` };
  }
  try {
    return await tool.execute(call.input, ctx);
  } catch (error) {
    return { ok: false, output: `${call.name} failed: ${describeToolError(error)}` };
  }
}
