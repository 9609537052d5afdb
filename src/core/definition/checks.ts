/**
 * Checks of single values that would otherwise fail only once a run is under way: regular
 * expressions, cron expressions, endpoint schemes, git ref names and timer ranges. Each returns the
 * reason a value is refused, or undefined when it is fine, so the schema can state it at the field.
 */
import { Cron } from 'croner';

/** setTimeout holds at most 2^31-1 ms (about 24.8 days); a longer delay fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
export const MAX_BUDGET_MINUTES = Math.floor(MAX_TIMER_MS / 60_000);

/** The flags the metric grader compiles its pattern with. */
export function regexProblem(pattern: string, flags = 'mg'): string | undefined {
  try {
    new RegExp(pattern, flags);
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, '') : '';
    return `not a valid regular expression (${reason})`;
  }
}

/** How many capture groups a valid pattern has. */
export function captureGroups(pattern: string): number {
  // An alternative that matches the empty string makes exec report every group, matched or not.
  const match = new RegExp(`${pattern}|`).exec('');
  return match === null ? 0 : match.length - 1;
}

/** Cron as the triggers will read it: five fields (minute hour day month weekday), or @daily and the like. */
export function cronProblem(expression: string): string | undefined {
  try {
    // No function given: croner only parses the pattern, it schedules nothing.
    const cron = new Cron(expression, { mode: '5-part' });
    // A date that no month has (the 31st of February): croner finds no time in the years it looks at.
    if (cron.nextRun() === null)
      return `"${expression}" is never due: no month has that day (day of month and month together), so it would never start a run`;
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    return `"${expression}" is not a cron expression: ${reason} (five fields: minute hour day month weekday, e.g. "0 9 * * 1-5")`;
  }
}

/** An IANA time zone name, as Intl (and croner) accept it. */
export function timezoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return `"${zone}" is not a time zone: use an IANA name such as Europe/Berlin or America/New_York`;
  }
}

export function urlSchemeProblem(url: string): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return undefined; // not a URL at all: the url check says so
  }
  return protocol === 'http:' || protocol === 'https:'
    ? undefined
    : `"${url}" must be an http:// or https:// address (it is ${protocol})`;
}

/**
 * workspace.base: a branch, tag or commit, optionally with ~N / ^N steps (`main~2`). The name follows
 * git's ref-name rules (`git check-ref-format --allow-onelevel`) and never starts with "-", which git
 * would read as an option (`--orphan=x`).
 */
export function baseRefProblem(base: string): string | undefined {
  const name = base.replace(/(?:[~^]\d*)+$/, '');
  const why = refNameProblem(name);
  return why === undefined
    ? undefined
    : `"${base}" is not a branch, tag or commit name: ${why} (set workspace.base to a branch such as main, or a commit)`;
}

function refNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.startsWith('-')) return 'it starts with "-"';
  if (name === '@') return 'a lone "@" is not a name';
  if ([...name].some((char) => char <= ' ' || char === '\u007f')) {
    return 'it holds a space or a control character';
  }
  const bad = /[~^:?*[\\]/.exec(name);
  if (bad !== null) return `it holds "${bad[0]}"`;
  if (name.includes('..')) return 'it holds ".."';
  if (name.includes('@{')) return 'it holds "@{"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//'))
    return 'it has an empty part between "/"';
  if (name.endsWith('.')) return 'it ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'a part starts with "."';
    if (part.endsWith('.lock')) return 'a part ends with ".lock"';
  }
  return undefined;
}
