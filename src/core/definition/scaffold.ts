/** `loops new NAME`: writes a loop folder that loads without problems, for a person to edit. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loopFrontMatterSchema } from './schema.js';
import type { ProviderName } from './schema.js';
import { loopTemplate, rubricTemplate, SCRIPT_TEMPLATE, skillTemplate } from './templates.js';

export class ScaffoldError extends Error {
  override name = 'ScaffoldError';
}

/** Creates loops/NAME with LOOP.md, SKILL.md, RUBRIC.md (and SCRIPT.yaml for `scripted`); returns their repo-relative paths. */
export async function scaffoldLoop(
  repoRoot: string,
  name: string,
  options?: { provider?: ProviderName },
): Promise<string[]> {
  const valid = loopFrontMatterSchema.shape.name.safeParse(name);
  if (!valid.success) {
    const reason = valid.error.issues[0]?.message ?? 'not a valid name';
    throw new ScaffoldError(`"${name}" is not a valid loop name: ${reason}`);
  }
  const provider = options?.provider ?? 'anthropic';
  const loopsDir = path.join(path.resolve(repoRoot), 'loops');
  const dir = path.join(loopsDir, name);
  await mkdir(loopsDir, { recursive: true });
  try {
    // Not recursive: creating the folder is the check that no loop of that name exists.
    await mkdir(dir);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'EEXIST') {
      throw new ScaffoldError(
        `loops/${name} already exists: pick another name, or edit loops/${name}/LOOP.md`,
      );
    }
    throw error;
  }
  const files: Array<[string, string]> = [
    ['LOOP.md', loopTemplate(name, provider)],
    ['SKILL.md', skillTemplate(name)],
    ['RUBRIC.md', rubricTemplate(name)],
  ];
  if (provider === 'scripted') files.push(['SCRIPT.yaml', SCRIPT_TEMPLATE]);
  const created: string[] = [];
  for (const [file, content] of files) {
    await writeFile(path.join(dir, file), content, { flag: 'wx' });
    created.push(`loops/${name}/${file}`);
  }
  return created;
}
