/** `hillclimb:` settings that another one makes do nothing: said by `loops validate`, never ignored quietly. */
import type { YamlBlock } from './front-matter.js';
import { valueAt } from './issues.js';
import { fieldName, type DefinitionProblem } from './problems.js';

export function hillclimbWarnings(yaml: YamlBlock, file: string): DefinitionProblem[] {
  const given = (key: string): boolean =>
    yaml.has(['hillclimb', key]) && valueAt(yaml.value, ['hillclimb', key]) != null;
  if (!given('tasks') || !given('eval')) return [];
  const where = ['hillclimb', 'tasks'];
  return [
    {
      file,
      line: yaml.lineOf(where),
      field: fieldName(where),
      message:
        'tasks is how many recent failing tasks an evaluation re-runs, but hillclimb.eval names the ' +
        'tasks instead: it does nothing',
    },
  ];
}
