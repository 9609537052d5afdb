/**
 * A loop's skills in the Agent Skills format: loops/NAME/SKILL.md and loops/NAME/skills/<skill>/SKILL.md,
 * each with `name` (its folder's name) and `description` front matter and a markdown body.
 */
import path from 'node:path';
import { z } from 'zod';
import { listDirectories, readText } from './files.js';
import { parseYamlBlock, splitFrontMatter } from './front-matter.js';
import { validateYaml } from './issues.js';
import { repoRelative } from './paths.js';
import type { DefinitionProblem } from './problems.js';
import { loopFrontMatterSchema } from './schema.js';
import type { SkillFile } from './schema.js';

export const skillFrontMatterSchema = z.strictObject({
  // The Agent Skills naming rule is the same as a loop's: lowercase, digits, single hyphens, ≤ 64.
  name: loopFrontMatterSchema.shape.name,
  description: z.string().min(1).max(1024),
  license: z.string().min(1).optional(),
  compatibility: z.string().min(1).max(500).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  'allowed-tools': z.string().optional(),
});

export interface SkillsLoad {
  skills: SkillFile[];
  problems: DefinitionProblem[];
}

export async function loadSkills(repoRoot: string, loopDir: string): Promise<SkillsLoad> {
  const candidates = [
    { file: path.join(loopDir, 'SKILL.md'), folder: path.basename(loopDir) },
    ...(await listDirectories(path.join(loopDir, 'skills'))).map((folder) => ({
      file: path.join(loopDir, 'skills', folder, 'SKILL.md'),
      folder,
    })),
  ];
  const skills: SkillFile[] = [];
  const problems: DefinitionProblem[] = [];
  for (const candidate of candidates) {
    const result = await loadSkill(repoRoot, candidate.file, candidate.folder);
    if (result === undefined) continue;
    if (result.ok) skills.push(result.skill);
    else problems.push(...result.problems);
  }
  return { skills, problems };
}

type SkillLoad = { ok: true; skill: SkillFile } | { ok: false; problems: DefinitionProblem[] };

/** undefined when there is no SKILL.md there. */
async function loadSkill(repoRoot: string, absolute: string, folder: string): Promise<SkillLoad | undefined> {
  const file = repoRelative(repoRoot, absolute);
  const read = await readText(absolute, file, repoRoot);
  if (read.kind === 'missing') return undefined;
  if (read.kind === 'error') return { ok: false, problems: [read.problem] };
  const split = splitFrontMatter(read.text, file);
  if (!split.ok) return { ok: false, problems: [split.problem] };
  const parsed = parseYamlBlock(split.parts, file);
  if (!parsed.ok) return { ok: false, problems: parsed.problems };
  const validated = validateYaml(skillFrontMatterSchema, parsed.yaml, file);
  if (!validated.ok) return { ok: false, problems: validated.problems };
  const { name, description } = validated.data;
  if (name !== folder) {
    return {
      ok: false,
      problems: [
        {
          file,
          line: parsed.yaml.lineOf(['name']),
          field: 'name',
          message: `"${name}" must equal the name of the skill's folder, "${folder}"`,
        },
      ],
    };
  }
  return { ok: true, skill: { name, description, path: file, body: split.parts.body.trim() } };
}
