/**
 * `approve:` rules: which tool calls wait for a person. Three kinds, written `KIND:PATTERN`:
 *   run:PATTERN       a shell command (the `run` tool), matched against each simple command in it
 *   write:GLOB        a file the agent writes through write_file or edit_file
 *   mcp:SERVER/TOOL   a connector's tool, by the names its server gives (not the model-facing name)
 * In every pattern `*` matches any text, `/` included, and `?` one character.
 */
import picomatch from 'picomatch';

export type RuleKind = 'run' | 'write' | 'mcp';

export interface ApprovalRule {
  /** As written in LOOP.md. */
  raw: string;
  kind: RuleKind;
  pattern: string;
  /** Position in `approve:`, for the place of a problem. */
  index: number;
  test: (candidate: string) => boolean;
  /**
   * Whether some command that starts with `candidate` would match: for a command whose last words
   * arrive at run time (`… | xargs git`), so a rule about any of them asks.
   */
  testPrefix: (candidate: string) => boolean;
}

export type RuleParse = { ok: true; rule: ApprovalRule } | { ok: false; message: string };

const KINDS: readonly RuleKind[] = ['run', 'write', 'mcp'];

export function parseRule(raw: string, index: number): RuleParse {
  const colon = raw.indexOf(':');
  const prefix = colon < 0 ? '' : raw.slice(0, colon).trim();
  const pattern = colon < 0 ? '' : raw.slice(colon + 1).trim();
  if (!KINDS.includes(prefix as RuleKind)) {
    return {
      ok: false,
      message:
        `"${raw}" is not an approval rule: write run:PATTERN (a shell command), write:GLOB (a file ` +
        'written by write_file or edit_file) or mcp:SERVER/TOOL (a connector tool), e.g. "run:git push*"',
    };
  }
  const kind = prefix as RuleKind;
  if (pattern === '') return { ok: false, message: `"${raw}" has no pattern after "${kind}:"` };
  // A server's name has no slash (schema.ts); a tool's own name may (`files/delete`).
  if (kind === 'mcp' && !/^[^/]+\/.+$/.test(pattern)) {
    return { ok: false, message: `"${raw}": an mcp rule names SERVER/TOOL, e.g. "mcp:github/create_issue"` };
  }
  const rule = {
    raw,
    kind,
    pattern,
    index,
    test: matcherFor(kind, pattern),
    testPrefix: prefixMatcherFor(pattern),
  };
  return { ok: true, rule };
}

/** The rules of a loop that parse; the loader reports the others, so a loaded loop has none bad. */
export function parseRules(approve: readonly string[]): ApprovalRule[] {
  const rules: ApprovalRule[] = [];
  approve.forEach((raw, index) => {
    const parsed = parseRule(raw, index);
    if (parsed.ok) rules.push(parsed.rule);
  });
  return rules;
}

function matcherFor(kind: RuleKind, pattern: string): (candidate: string) => boolean {
  if (kind === 'write') {
    // Paths: picomatch with `*` crossing `/` (bash mode), dot files included, `./` ignored.
    const match = picomatch(pattern.replace(/^\.\//, ''), { bash: true, dot: true });
    return (candidate) => match(candidate.replace(/^\.\//, ''));
  }
  // Commands are not paths: only `*` and `?` are special, so `{}`, `[`, `!` in a command mean themselves.
  const regex = new RegExp(`^${globToRegex(normalizeSpaces(pattern))}$`, 's');
  return (candidate) => regex.test(normalizeSpaces(candidate));
}

/**
 * A text is the start of some match of a glob exactly when it matches the glob cut short somewhere
 * (whatever the rest of the glob asks for, some text gives it), so one alternation of every cut.
 */
function prefixMatcherFor(pattern: string): (candidate: string) => boolean {
  const glob = normalizeSpaces(pattern);
  const cuts = [...glob].map((_, k) => globToRegex(glob.slice(0, k + 1)));
  const regex = new RegExp(`^(?:${['', ...cuts].join('|')})$`, 's');
  return (candidate) => regex.test(candidate.replace(/\s+/g, ' ').replace(/^ /, ''));
}

function globToRegex(glob: string): string {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

export function normalizeSpaces(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}
