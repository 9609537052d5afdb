import { describe, expect, it } from 'vitest';
import { replayContext, replayStart } from '../../src/triggers/replay.js';

const sha = 'a'.repeat(40);

describe('replayContext', () => {
  it('gives the base commit and the original event, marked as a replay of the run', () => {
    const r = replayContext({
      loop: 'l',
      run: 'r1',
      trigger: 'watch',
      startedAt: '2026-12-01T00:00:00Z',
      baseSha: sha,
      context: { kind: 'watch', detail: 'a.ts changed', at: '2026-12-01T00:00:00Z', files: ['a.ts'] },
    });
    expect(r).toMatchObject({
      ok: true,
      replay: {
        baseSha: sha,
        original: { kind: 'watch', files: ['a.ts'] },
        context: { kind: 'replay', replayOf: 'r1', files: ['a.ts'] },
      },
    });
    if (!r.ok) return;
    expect(replayStart(r.replay)).toMatchObject({ type: 'start', loop: 'l', context: { replayOf: 'r1' } });
    expect(replayContext({ ...r.replay, trigger: 'x', startedAt: 'y' }, 'hillclimb')).toMatchObject({
      ok: true,
      replay: { context: { kind: 'hillclimb' } },
    });
  });

  it('refuses a run without a base sha, and reads an old run without a context as manual', () => {
    expect(replayContext({ loop: 'l', run: 'r0', trigger: 'manual', startedAt: 't' })).toMatchObject({
      ok: false,
    });
    expect(
      replayContext({ loop: 'l', run: 'r0', trigger: 'manual', startedAt: 't', baseSha: 'HEAD' }),
    ).toMatchObject({ ok: false });
    const old = replayContext({ loop: 'l', run: 'r0', trigger: 'manual', startedAt: 't', baseSha: sha });
    expect(old).toMatchObject({
      ok: true,
      replay: { original: { kind: 'manual', detail: 'manual', at: 't' } },
    });
    const odd = replayContext({
      loop: 'l',
      run: 'r0',
      trigger: 'cron',
      startedAt: 't',
      baseSha: sha,
      context: { kind: 'cron', detail: 3, at: 't' } as never,
    });
    expect(odd).toMatchObject({ ok: true, replay: { original: { kind: 'manual', detail: 'cron' } } });
  });
});
