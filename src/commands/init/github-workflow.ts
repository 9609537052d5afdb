import type { LoopDefinition, ProviderName } from '../../core/definition/schema.js';

/**
 * The GitHub Actions workflow `loops init --github` writes: chosen loops on a schedule and on demand,
 * one job per loop (a matrix), never two runs of a loop at once, a timeout, the keys from secrets, the
 * run's branch pushed so the work survives the runner, and state/ kept as an artifact.
 */

export interface WorkflowOptions {
  loops: string[];
  /** A 5-field cron in UTC: GitHub runs schedules only from the default branch, and may delay them. */
  cron: string;
  /** How the job gets loops: `npx` when the repository has it as a dependency, else a global install. */
  install: 'npx' | 'global';
  /** The secrets the job passes to loops under the same names: the providers' keys, servers' tokens. */
  secrets: string[];
  timeoutMinutes: number;
}

export const DEFAULT_WORKFLOW: Omit<WorkflowOptions, 'loops' | 'install' | 'secrets'> = {
  cron: '0 6 * * 1-5',
  timeoutMinutes: 60,
};

/** The variable each provider's key is read from; none for those that need no key. */
const PROVIDER_KEYS: Record<ProviderName, string | undefined> = {
  anthropic: 'ANTHROPIC_API_KEY',
  'claude-code': 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  codex: 'OPENAI_API_KEY',
  command: undefined,
  scripted: undefined,
};

/** What the loops need from secrets: each provider's key and each MCP server's named variables. */
export function secretsFor(definitions: readonly LoopDefinition[]): string[] {
  const names = new Set<string>();
  for (const def of definitions) {
    const key = PROVIDER_KEYS[def.agent.provider];
    if (key !== undefined) names.add(key);
    for (const server of def.agent.mcp) for (const name of server.env) names.add(name);
  }
  return [...names].sort();
}

export function githubWorkflow(o: WorkflowOptions): string {
  const matrix = o.loops.map((l) => JSON.stringify(l)).join(', ');
  const loops = o.install === 'npx' ? 'npx loops' : 'loops';
  const install =
    o.install === 'npx'
      ? `      - name: Install dependencies (loops among them)
        run: npm ci`
      : `      - name: Install loops
        env:
          LOOPS_SOURCE: \${{ vars.LOOPS_SOURCE }}
        run: |
          if [ -z "$LOOPS_SOURCE" ]; then
            echo "::error::set the repository variable LOOPS_SOURCE to the git URL loops is installed from"
            exit 2
          fi
          npm install -g "$LOOPS_SOURCE"`;
  return `# Written by \`loops init --github\`. Runs the loops below on a schedule and on demand.
# Each loop is its own job; a loop never runs twice at once; the work is pushed on its run branch
# (loops/<loop>/<run>) for review, and state/ (traces, spend, summaries) is kept as an artifact.
name: loops

on:
  schedule:
    - cron: "${o.cron}"
  workflow_dispatch:
    inputs:
      loop:
        description: "Run only this loop (leave empty for all)"
        required: false
        default: ""

permissions:
  contents: write

jobs:
  run:
    strategy:
      fail-fast: false
      matrix:
        loop: [${matrix}]
    concurrency:
      group: loops-\${{ matrix.loop }}
      cancel-in-progress: false
    runs-on: ubuntu-latest
    timeout-minutes: ${o.timeoutMinutes}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-node@v4
        with:
          node-version: 22
      - name: Install the sandbox (bubblewrap)
        run: |
          sudo apt-get update -qq
          sudo apt-get install -y -qq bubblewrap
          # Ubuntu 24.04 blocks unprivileged user namespaces through AppArmor; bubblewrap needs them.
          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
${install}
      - name: Run \${{ matrix.loop }}
        if: \${{ github.event_name != 'workflow_dispatch' || github.event.inputs.loop == '' || github.event.inputs.loop == matrix.loop }}
${secretsEnv(o.secrets)}        run: ${loops} run "\${{ matrix.loop }}" --json
      - name: Push the run branch for review
        if: \${{ always() }}
        run: |
          branches=$(git for-each-ref --format='%(refname:short)' "refs/heads/loops/\${{ matrix.loop }}/")
          for b in $branches; do git push origin "$b"; done
      - uses: actions/upload-artifact@v4
        if: \${{ always() }}
        with:
          name: loops-state-\${{ matrix.loop }}
          path: state/
          if-no-files-found: ignore
`;
}

function secretsEnv(secrets: readonly string[]): string {
  if (secrets.length === 0) return '';
  return `        env:\n${secrets.map((name) => `          ${name}: \${{ secrets.${name} }}\n`).join('')}`;
}
