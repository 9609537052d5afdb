/**
 * Ringing the terminal when a loop newly needs a person. Desktop notifications go through escape
 * sequences the terminal understands (no package, no helper binary): OSC 9 for iTerm2, OSC 777 for
 * the terminals that implement it, a plain BEL everywhere else. Inside tmux the OSC is wrapped in
 * tmux's passthrough so it reaches the outer terminal; the BEL stays outside, so tmux marks the window.
 */

export type Env = Readonly<Record<string, string | undefined>>;

const BEL = '\x07';
const ESC = '\x1b';

export type NotifyStyle = 'osc9' | 'osc777' | 'bel';

export function notifyStyle(env: Env): NotifyStyle {
  const program = env.TERM_PROGRAM ?? '';
  const lc = env.LC_TERMINAL ?? '';
  if (program === 'iTerm.app' || lc === 'iTerm2') return 'osc9';
  if (['WezTerm', 'ghostty'].includes(program) || lc === 'WezTerm') return 'osc777';
  const term = env.TERM ?? '';
  if (/^(foot|rxvt|xterm-ghostty|wezterm)/.test(term) || env.KONSOLE_VERSION !== undefined) return 'osc777';
  return 'bel';
}

/** Text inside an OSC cannot hold its terminators or other control characters. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f;]+/g, ' ').slice(0, 200);
}

function passthrough(sequence: string, env: Env): string {
  if (env.TMUX === undefined || env.TMUX === '') return sequence;
  return `${ESC}Ptmux;${sequence.replaceAll(ESC, ESC + ESC)}${ESC}\\`;
}

/** The bytes that ring the terminal for one notification. */
export function notificationBytes(title: string, body: string, env: Env): string {
  const style = notifyStyle(env);
  if (style === 'bel') return BEL;
  const osc =
    style === 'osc9'
      ? `${ESC}]9;${clean(`${title}: ${body}`)}${BEL}`
      : `${ESC}]777;notify;${clean(title)};${clean(body)}${BEL}`;
  return passthrough(osc, env) + BEL;
}

/**
 * Remembers the reason each loop last rang for, so a reason rings once: a loop rings again only
 * when its reason changes (or comes back after it was cleared).
 */
export class BellMemory {
  private readonly last = new Map<string, string>();

  /** The loops whose reason is new since the last call; every loop not listed is forgotten. */
  news(current: ReadonlyMap<string, string>): Array<{ loop: string; reason: string }> {
    const fresh: Array<{ loop: string; reason: string }> = [];
    for (const [loop, reason] of current) {
      if (this.last.get(loop) !== reason) fresh.push({ loop, reason });
    }
    this.last.clear();
    for (const [loop, reason] of current) this.last.set(loop, reason);
    return fresh;
  }
}
